"""The transcription methods: direct multiple shooting on a time grid, its condensed (single-shooting)
form on the same grid, and direct collocation on the same grid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from ocp.errors import ProblemError
from ocp.problem.integrators import RK4, GaussLegendre, Integrator, Radau, lagrange_basis

Parallelization = Literal["vectorized", "serial", "thread"]
PARALLELIZATIONS = get_args(Parallelization)
L1Form = Literal["slacks", "abs"]


@dataclass(frozen=True)
class MultipleShooting:
    """Direct multiple shooting with piecewise-constant controls.

    Parameters
    ----------
    K : number of control intervals.
    integrator : the method integrating each interval (with its sub-steps M): explicit Runge-Kutta, or
        an implicit `Radau` / `GaussLegendre` for stiff dynamics.
    grid : optional node times normalised to [0, 1] (K + 1 increasing values
        from 0 to 1); the default is uniform. Node k sits at t_k = T grid[k],
        so the same grid serves every T.
    parallelization : how the batch of members is evaluated: 'vectorized'
        (default: each instruction of the member function becomes one vector
        operation over the batch, `vectorize.py`), or ``casadi.Function.map``
        over the members, 'serial' or 'thread'.
    """

    K: int = 20
    integrator: Integrator = field(default_factory=RK4)
    grid: Sequence[float] | None = None
    parallelization: Parallelization = "vectorized"

    def __post_init__(self) -> None:
        if not isinstance(self.K, int | np.integer) or self.K < 1:
            raise ProblemError(f"K (number of intervals) must be an integer >= 1, got {self.K!r}")
        if self.parallelization not in PARALLELIZATIONS:
            raise ProblemError(f"parallelization must be one of {PARALLELIZATIONS}, got {self.parallelization!r}")
        if self.grid is not None:
            tau = np.asarray(self.grid, dtype=float)
            if tau.shape != (self.K + 1,) or tau[0] != 0.0 or tau[-1] != 1.0 or np.any(np.diff(tau) <= 0):
                raise ProblemError(f"grid must hold K + 1 = {self.K + 1} increasing values from 0 to 1")
            object.__setattr__(self, "grid", tuple(float(v) for v in tau))

    def normalised_grid(self) -> np.ndarray:
        """(K + 1,) node times on [0, 1]."""
        if self.grid is None:
            return np.linspace(0.0, 1.0, self.K + 1)
        return np.asarray(self.grid)

    def condensed(self, l1: L1Form = "slacks") -> SingleShooting:
        """The condensed form on this grid (`SingleShooting`)."""
        return SingleShooting(self, l1)


@dataclass(frozen=True)
class SingleShooting:
    """The condensed form of a multiple-shooting method: the same grid, integrator and batch evaluation,
    with the states after X_0 eliminated by forward simulation, so no gap constraints
    (w = [free parameters; T; X_0; U_0; ...; U_{K-1}]). It serves the first-order start and the
    optimality check (`ocp/solvers/first_order.py`, `optimality.py`) and the gradient flow.

    ``l1`` "slacks": the L1 costs as slacks and their constraints, as in multiple shooting; "abs": as sums
    of |e|, nonsmooth where e = 0, for gradient descent, which takes sign(e) there (`gradient_flow.py`).
    """

    shooting: MultipleShooting
    l1: L1Form = "slacks"

    def __post_init__(self) -> None:
        if self.l1 not in get_args(L1Form):
            raise ProblemError(f"l1 must be one of {get_args(L1Form)}, got {self.l1!r}")

    @property
    def K(self) -> int:
        return self.shooting.K

    @property
    def integrator(self) -> Integrator:
        return self.shooting.integrator

    @property
    def parallelization(self) -> Parallelization:
        return self.shooting.parallelization

    def normalised_grid(self) -> np.ndarray:
        return self.shooting.normalised_grid()


CollocationScheme = Literal["radau", "legendre"]
COLLOCATION_NEWTON = 10  # Newton iterations of the integrator that simulates a collocation grid (guesses)


@dataclass(frozen=True)
class DirectCollocation(MultipleShooting):
    """Direct collocation on the multiple-shooting grid: on each interval the state is a polynomial of
    degree ``degree`` through the node state and ``degree`` collocation points (Radau or Gauss-Legendre
    points), whose values are NLP variables; the ODE holds at the collocation points as constraints
    IPOPT solves, with no integration inside the NLP's functions. Controls are piecewise constant as in
    multiple shooting, and the node states and controls sit where they do there, so solutions, guesses
    and warm starts move between the two methods.

    Running costs are integrated by the collocation quadrature (exact for polynomials of degree 2 degree
    - 2 with Radau points, 2 degree - 1 with Legendre points). Path constraints hold at the nodes, and also
    at the collocation points with ``path_at_collocation_points``. Eliminating the stage values gives
    multiple shooting with the implicit Runge-Kutta method of the same points (`Radau`, `GaussLegendre`):
    the same optimum, which is also this method's ``integrator`` (it simulates guesses and serves the
    condensed objective of the first-order start).

    degree : collocation points per element (the stages s): order 2 s - 1 (radau) or 2 s (legendre) at
    the nodes. scheme : "radau" (the last point is the element's end; L-stable) or "legendre".
    steps : collocation elements per control interval (M), each with its own polynomial, joined
    continuously, under the interval's one control: a finer integration that leaves the controls, and
    so a learning problem's depth, as they are (multiple shooting's ``steps`` likewise).
    """

    degree: int = field(default=3, kw_only=True)
    steps: int = field(default=1, kw_only=True)
    scheme: CollocationScheme = field(default="radau", kw_only=True)
    path_at_collocation_points: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.degree, int | np.integer) or not 1 <= self.degree <= 9:
            raise ProblemError(f"collocation degree must be an integer from 1 to 9, got {self.degree!r}")
        if not isinstance(self.steps, int | np.integer) or self.steps < 1:
            raise ProblemError(f"collocation steps (elements per interval) must be an integer >= 1, got {self.steps!r}")
        if self.scheme not in get_args(CollocationScheme):
            raise ProblemError(f"collocation scheme must be one of {get_args(CollocationScheme)}, got {self.scheme!r}")
        kind = Radau if self.scheme == "radau" else GaussLegendre
        integrator = kind(steps=int(self.steps), degree=int(self.degree), newton=COLLOCATION_NEWTON)
        object.__setattr__(self, "integrator", integrator)

    def element_points(self) -> np.ndarray:
        """(s,) the collocation points of one element, on (0, 1]."""
        return self.integrator.tableau()[2]

    def points(self) -> np.ndarray:
        """(M s,) every collocation point of an interval, on (0, 1]: element m's at (m + c_i) / M."""
        c = self.element_points()
        return np.concatenate([(m + c) / self.steps for m in range(self.steps)])

    def polynomial(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The Lagrange basis on one element, tau = [0, c_1 .. c_s]: (C (s + 1, s): basis j's derivative at
        c_i, D (s + 1,): its value at 1 (the element's end), B (s,): the quadrature weights of c_1 .. c_s)."""
        a, b, c = self.integrator.tableau()
        tau = np.concatenate([[0.0], c])
        C, D = np.zeros((self.degree + 1, self.degree)), np.zeros(self.degree + 1)
        for j in range(self.degree + 1):
            basis = lagrange_basis(tau, j)
            D[j] = basis(1.0)
            C[j] = basis.deriv()(c)
        return C, D, b
