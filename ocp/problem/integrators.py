"""Runge-Kutta methods as data (Butcher tableaux): explicit ones, and implicit collocation methods for
stiff dynamics.

Each method integrates x' = rhs(x, t) over one interval of length h with
``steps`` equal sub-steps. h is symbolic, so the horizon T can be an NLP
parameter or variable without rebuilding anything.

An explicit method is stable only while h x (the spectral radius of df/dx)
stays inside its stability interval on the negative real axis
(``stability_bound``: 2 for Euler and the midpoint rule, 2.785 for RK4);
`ocp/solvers/stability.py` checks that at the guess and at the solution.
The implicit ones (`Radau`, `GaussLegendre`) are A-stable: any step is
stable, and Radau IIA also damps the fastest modes (L-stable).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal, get_args

import casadi as ca
import numpy as np

Rhs = Callable[[ca.SX, ca.SX], ca.SX]


def lagrange_basis(tau: np.ndarray, j: int) -> np.poly1d:
    """The polynomial that is 1 at tau[j] and 0 at the other points of tau."""
    basis = np.poly1d([1.0])
    for m, point in enumerate(tau):
        if m != j:
            basis *= np.poly1d([1.0, -point]) / (tau[j] - point)
    return basis


@dataclass(frozen=True)
class ExplicitRungeKutta:
    """Base class: subclasses set the tableau (a strictly lower triangular)."""

    steps: int = 1

    name: ClassVar[str]
    order: ClassVar[int]
    stability_bound: ClassVar[float]  # the largest h x |lambda| stable for real negative lambda
    a: ClassVar[tuple[tuple[float, ...], ...]]
    b: ClassVar[tuple[float, ...]]
    c: ClassVar[tuple[float, ...]]

    def __post_init__(self) -> None:
        if not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"integrator steps must be an integer >= 1, got {self.steps!r}")

    def integrate(self, rhs: Rhs, x: ca.SX, t0: ca.SX, h: ca.SX) -> ca.SX:
        """x(t0 + h) from x(t0) = x with ``steps`` sub-steps of length h / steps."""
        dt = h / self.steps
        for i in range(self.steps):
            x = self._step(rhs, x, t0 + i * dt, dt)
        return x

    def _step(self, rhs: Rhs, x: ca.SX, t: ca.SX, dt: ca.SX) -> ca.SX:
        stages: list[ca.SX] = []
        for a_row, c_i in zip(self.a, self.c, strict=True):
            xi = x
            for a_ij, k_j in zip(a_row, stages, strict=False):
                if a_ij:
                    xi = xi + dt * a_ij * k_j
            stages.append(rhs(xi, t + c_i * dt))
        return x + dt * sum(b_i * k_i for b_i, k_i in zip(self.b, stages, strict=True) if b_i)


@dataclass(frozen=True)
class Euler(ExplicitRungeKutta):
    """Explicit Euler, order 1: K steps of it are a ResNet of depth K."""

    name: ClassVar[str] = "euler"
    order: ClassVar[int] = 1
    stability_bound: ClassVar[float] = 2.0
    a: ClassVar = ((),)
    b: ClassVar = (1.0,)
    c: ClassVar = (0.0,)


@dataclass(frozen=True)
class Midpoint(ExplicitRungeKutta):
    """Explicit midpoint rule, order 2."""

    name: ClassVar[str] = "midpoint"
    order: ClassVar[int] = 2
    stability_bound: ClassVar[float] = 2.0
    a: ClassVar = ((), (0.5,))
    b: ClassVar = (0.0, 1.0)
    c: ClassVar = (0.0, 0.5)


@dataclass(frozen=True)
class RK4(ExplicitRungeKutta):
    """The classical Runge-Kutta method, order 4."""

    name: ClassVar[str] = "rk4"
    order: ClassVar[int] = 4
    stability_bound: ClassVar[float] = 2.785293563405282  # the real root of 1 + z + z^2/2 + z^3/6 + z^4/24 = -1
    a: ClassVar = ((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0))
    b: ClassVar = (1 / 6, 1 / 3, 1 / 3, 1 / 6)
    c: ClassVar = (0.0, 0.5, 0.5, 1.0)


@dataclass(frozen=True)
class ImplicitCollocation:
    """An implicit Runge-Kutta method of collocation type with ``degree`` stages s (the base of `Radau` and
    `GaussLegendre`): on each sub-step the stage slopes k_i solve

        k_i = rhs(x + dt sum_j a_ij k_j, t + c_i dt),   i = 1..s,

    with c the collocation points on (0, 1] and a_ij the integrals of the Lagrange basis on c.

    The stage equations are solved inside the expression graph by ``newton`` Newton iterations from the
    explicit-Euler slopes (exact after one for linear dynamics), each with the exact Jacobian and a
    symbolic linear solve of size s nx, so the NLP's derivatives are those of the iteration: equal to the
    implicit function's once it has converged (the approach of acados' IRK with a fixed Newton count).
    """

    steps: int = 1
    degree: int = 3
    newton: int = 4

    name: ClassVar[str]
    scheme: ClassVar[str]
    stability_bound: ClassVar[float] = math.inf  # A-stable

    def __post_init__(self) -> None:
        for key, low in (("steps", 1), ("degree", 1), ("newton", 1)):
            value = getattr(self, key)
            if not isinstance(value, int) or value < low:
                raise ValueError(f"integrator {key} must be an integer >= {low}, got {value!r}")
        if self.degree > 9:
            raise ValueError(f"integrator degree must be at most 9, got {self.degree}")

    @property
    def order(self) -> int:
        return 2 * self.degree - 1 if self.scheme == "radau" else 2 * self.degree

    def tableau(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(a (s, s), b (s,), c (s,)) of the method."""
        c = np.asarray(ca.collocation_points(self.degree, self.scheme), dtype=float)
        a, b = np.zeros((self.degree, self.degree)), np.zeros(self.degree)
        for j in range(self.degree):
            integral = lagrange_basis(c, j).integ()
            a[:, j] = integral(c) - integral(0.0)
            b[j] = integral(1.0) - integral(0.0)
        return a, b, c

    def integrate(self, rhs: Rhs, x: ca.SX, t0: ca.SX, h: ca.SX) -> ca.SX:
        """x(t0 + h) from x(t0) = x with ``steps`` sub-steps of length h / steps."""
        return self._integrate(rhs, x, t0, h)[0]

    def newton_residual(self, rhs: Rhs, x: ca.SX, t0: ca.SX, h: ca.SX) -> ca.SX:
        """The largest |k_i - rhs(stage i)| left after the Newton iterations, over the sub-steps: ~0 where
        they converged (then the NLP integrates, and differentiates, the implicit method itself)."""
        return self._integrate(rhs, x, t0, h)[1]

    def stage_states(self, rhs: Rhs, x: ca.SX, t0: ca.SX, h: ca.SX) -> ca.SX:
        """The states at the s collocation points of each of the ``steps`` sub-steps over h, stacked in
        order: what a direct collocation starts from where a simulation gives its node states."""
        a, b, c = self.tableau()
        dt, out = h / self.steps, []
        for i in range(self.steps):
            x, _, states = self._step(rhs, x, t0 + i * dt, dt, a, b, c)
            out += states
        return ca.vertcat(*out)

    def _integrate(self, rhs: Rhs, x: ca.SX, t0: ca.SX, h: ca.SX) -> tuple[ca.SX, ca.SX]:
        a, b, c = self.tableau()
        dt, largest = h / self.steps, ca.SX(0)
        for i in range(self.steps):
            x, residual, _ = self._step(rhs, x, t0 + i * dt, dt, a, b, c)
            largest = ca.fmax(largest, residual)
        return x, largest

    def _step(self, rhs: Rhs, x: ca.SX, t: ca.SX, dt: ca.SX, a, b, c) -> tuple[ca.SX, ca.SX, list[ca.SX]]:
        s, n = self.degree, x.numel()
        z, tau = ca.SX.sym("z", n), ca.SX.sym("tau")
        slope_at = rhs(z, tau)
        jacobian_at = ca.jacobian(slope_at, z)

        def stage_states(k):
            return [x + dt * sum(a[i, j] * k[j] for j in range(s)) for i in range(s)]

        def at_stages(states, exprs):
            """``exprs`` at every stage: one substitution per stage, so the graph holds each stage state once."""
            return [
                ca.substitute(exprs, [ca.vertcat(z, tau)], [ca.vertcat(states[i], t + c[i] * dt)]) for i in range(s)
            ]

        k = [rhs(x, t)] * s  # explicit Euler's slope at every stage
        for _ in range(self.newton):
            f, J = zip(*at_stages(stage_states(k), [slope_at, jacobian_at]), strict=True)
            # the residual k_i - f_i and its Jacobian in k: the block (i, j) is delta_ij I - dt a_ij J_i
            residual = ca.vertcat(*[k[i] - f[i] for i in range(s)])
            matrix = ca.blockcat(
                [[(ca.SX.eye(n) if i == j else 0) - dt * a[i, j] * J[i] for j in range(s)] for i in range(s)]
            )
            update = ca.solve(matrix, residual)
            k = [k[i] - update[i * n : (i + 1) * n] for i in range(s)]
        states = stage_states(k)
        left = ca.vertcat(*[k[i] - f_i for i, (f_i,) in enumerate(at_stages(states, [slope_at]))])
        return x + dt * sum(b[j] * k[j] for j in range(s)), ca.mmax(ca.fabs(left)), states


@dataclass(frozen=True)
class Radau(ImplicitCollocation):
    """Radau IIA: collocation at the Radau points (the last at the interval's end), order 2 degree - 1,
    L-stable: the usual choice for stiff dynamics. Degree 1 is implicit Euler."""

    name: ClassVar[str] = "radau"
    scheme: ClassVar[str] = "radau"


@dataclass(frozen=True)
class GaussLegendre(ImplicitCollocation):
    """Gauss-Legendre collocation: order 2 degree, A-stable and symplectic, not L-stable (the fastest
    modes are not damped). Degree 1 is the implicit midpoint rule."""

    name: ClassVar[str] = "gauss_legendre"
    scheme: ClassVar[str] = "legendre"


Integrator = ExplicitRungeKutta | ImplicitCollocation

# the config's choices: the names of INTEGRATORS
IntegratorName = Literal["euler", "midpoint", "rk4", "radau", "gauss_legendre"]
INTEGRATORS: dict[str, type[ExplicitRungeKutta] | type[ImplicitCollocation]] = {
    m.name: m for m in (Euler, Midpoint, RK4, Radau, GaussLegendre)
}
if tuple(INTEGRATORS) != get_args(IntegratorName):
    raise RuntimeError("IntegratorName and INTEGRATORS must name the same integrators")


def integrator(name: str, steps: int = 1, degree: int | None = None) -> Integrator:
    """Look an integrator up by name ('euler', 'midpoint', 'rk4', 'radau', 'gauss_legendre'); ``degree``:
    the stages of an implicit one (default 3)."""
    try:
        kind = INTEGRATORS[name]
    except KeyError:
        raise ValueError(f"unknown integrator {name!r}; choose one of {sorted(INTEGRATORS)}") from None
    if issubclass(kind, ImplicitCollocation):
        return kind(steps=steps) if degree is None else kind(steps=steps, degree=degree)
    if degree is not None:
        raise ValueError(f"integrator_degree is for the implicit integrators (radau, gauss_legendre), not {name!r}")
    return kind(steps=steps)
