"""Explicit Runge-Kutta methods as data (Butcher tableaux).

Each method integrates x' = rhs(x, t) over one interval of length h with
``steps`` equal sub-steps. h is symbolic, so the horizon T can be an NLP
parameter or variable without rebuilding anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal, get_args

import casadi as ca

Rhs = Callable[[ca.SX, ca.SX], ca.SX]


@dataclass(frozen=True)
class ExplicitRungeKutta:
    """Base class: subclasses set the tableau (a strictly lower triangular)."""

    steps: int = 1

    name: ClassVar[str]
    order: ClassVar[int]
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
    a: ClassVar = ((),)
    b: ClassVar = (1.0,)
    c: ClassVar = (0.0,)


@dataclass(frozen=True)
class Midpoint(ExplicitRungeKutta):
    """Explicit midpoint rule, order 2."""

    name: ClassVar[str] = "midpoint"
    order: ClassVar[int] = 2
    a: ClassVar = ((), (0.5,))
    b: ClassVar = (0.0, 1.0)
    c: ClassVar = (0.0, 0.5)


@dataclass(frozen=True)
class RK4(ExplicitRungeKutta):
    """The classical Runge-Kutta method, order 4."""

    name: ClassVar[str] = "rk4"
    order: ClassVar[int] = 4
    a: ClassVar = ((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0))
    b: ClassVar = (1 / 6, 1 / 3, 1 / 3, 1 / 6)
    c: ClassVar = (0.0, 0.5, 0.5, 1.0)


IntegratorName = Literal["euler", "midpoint", "rk4"]  # the config's choices: the names of INTEGRATORS
INTEGRATORS: dict[str, type[ExplicitRungeKutta]] = {m.name: m for m in (Euler, Midpoint, RK4)}
if tuple(INTEGRATORS) != get_args(IntegratorName):
    raise RuntimeError("IntegratorName and INTEGRATORS must name the same integrators")


def integrator(name: str, steps: int = 1) -> ExplicitRungeKutta:
    """Look an integrator up by name ('euler', 'midpoint', 'rk4')."""
    try:
        return INTEGRATORS[name](steps=steps)
    except KeyError:
        raise ValueError(f"unknown integrator {name!r}; choose one of {sorted(INTEGRATORS)}") from None
