"""The value types a `Problem` is made of: bounds, constraints, L1 costs, parameters and the horizon."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import casadi as ca
import numpy as np

from ocp.errors import ProblemError


@dataclass(frozen=True)
class Bounds:
    """Lower and upper bounds, scalars broadcast to the variable's size."""

    lb: float | Sequence[float] | np.ndarray = -np.inf
    ub: float | Sequence[float] | np.ndarray = np.inf

    def arrays(self, n: int, what: str) -> tuple[np.ndarray, np.ndarray]:
        lb, ub = _entries(self.lb, n, f"{what} lower bound"), _entries(self.ub, n, f"{what} upper bound")
        if np.any(np.isnan(lb)) or np.any(np.isnan(ub)):
            raise ProblemError(f"{what}: bounds may not be NaN (use -inf or inf for none)")
        if np.any(lb > ub):
            raise ProblemError(f"{what}: lower bound exceeds upper bound ({lb} > {ub})")
        return lb, ub


def _entries(value, n: int, what: str) -> np.ndarray:
    """``value`` as n floats: a scalar applies to all; anything else must have exactly n entries."""
    try:
        array = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ProblemError(f"{what}: expected numbers, got {value!r}") from None
    if array.size == 1:
        return np.full(n, array[0])
    if array.size != n:
        raise ProblemError(f"{what}: expected {n} entries (or one for all), got {array.size}")
    return array.copy()


@dataclass(frozen=True)
class Constraint:
    """lb <= expr <= ub elementwise; lb == ub makes an equality."""

    expr: ca.SX
    lb: float | Sequence[float] | np.ndarray = -np.inf
    ub: float | Sequence[float] | np.ndarray = np.inf

    @classmethod
    def equal(cls, expr: ca.SX, value: float | Sequence[float] = 0.0) -> Constraint:
        return cls(expr, value, value)

    @classmethod
    def at_most(cls, expr: ca.SX, ub: float | Sequence[float]) -> Constraint:
        return cls(expr, -np.inf, ub)

    @classmethod
    def at_least(cls, expr: ca.SX, lb: float | Sequence[float]) -> Constraint:
        return cls(expr, lb, np.inf)

    def bounds(self, what: str) -> tuple[np.ndarray, np.ndarray]:
        return Bounds(self.lb, self.ub).arrays(ca.SX(self.expr).numel(), what)


@dataclass(frozen=True)
class L1Cost:
    """weight x int_0^T ||expr(t)||_1 dt, optionally with ||expr(t)||_1 <= bound at every t.

    ``expr`` and ``weight`` may depend on controls and parameters only
    (``weight`` on parameters only, e.g. a lambda to sweep); see
    `Problem.l1_costs` for how it is solved exactly.
    """

    expr: ca.SX
    weight: ca.SX | float = 1.0
    bound: float | None = None


@dataclass(frozen=True)
class Parameter:
    """A fixed parameter: a symbol whose value is set at solve time (no rebuild).

    ``continuation``: a weight worth continuing in from large values down to
    its own (e.g. a regularisation lambda); the ``continuation_parameter``
    strategy uses it when no parameter is named, and the CLI's multi-start
    adds one such solve from start 0 (`ocp/search/strategies.py`, `ocp/search/multistart.py`).
    ``per_interval``: ``value`` is (K, size), one value per control interval
    (piecewise constant in time like the controls, e.g. the quadrature weights
    of a grid that moves with depth, `interval_sizes.py`); terminal costs and the last
    node's constraints see the last interval's value.
    """

    symbol: ca.SX
    value: float | Sequence[float] | np.ndarray
    continuation: bool = False
    per_interval: bool = False

    @property
    def intervals(self) -> int:
        """How many values the parameter holds: K for a per-interval one, else 1."""
        return np.atleast_2d(np.asarray(self.value, dtype=float)).shape[0] if self.per_interval else 1

    @property
    def name(self) -> str:
        return self.symbol.name() if self.symbol.numel() == 1 else str(self.symbol[0].name()).rsplit("_", 1)[0]


@dataclass(frozen=True)
class FreeParameter:
    """A static decision variable (constant in time), optimised with the controls."""

    symbol: ca.SX
    bounds: Bounds = Bounds()
    guess: float | Sequence[float] | np.ndarray = 0.0

    @property
    def name(self) -> str:
        return Parameter(self.symbol, 0.0).name


@dataclass(frozen=True)
class Horizon:
    """The final time T: fixed (an NLP parameter) or free (a bounded decision variable).

    ``symbol`` may appear in costs and constraints (e.g. a minimum-time cost).
    """

    T: float = 1.0
    free: bool = False
    lb: float = 0.0
    ub: float = np.inf
    symbol: ca.SX = field(default_factory=lambda: ca.SX.sym("T"))

    @classmethod
    def fixed(cls, T: float) -> Horizon:
        return cls(T=T)

    @classmethod
    def bounded(cls, lb: float, ub: float, guess: float | None = None) -> Horizon:
        if guess is None and not np.isfinite(ub):
            raise ProblemError(f"Horizon.bounded({lb}, {ub}): with no upper bound, give guess= (a starting T)")
        return cls(T=guess if guess is not None else 0.5 * (lb + ub), free=True, lb=lb, ub=ub)

    def __post_init__(self) -> None:
        if not (self.T > 0 and np.isfinite(self.T)):
            raise ProblemError(f"horizon T must be finite and > 0, got {self.T}")
        if self.free and not (0 <= self.lb <= self.T <= self.ub):
            raise ProblemError(f"free horizon needs 0 <= lb <= T <= ub, got lb={self.lb}, T={self.T}, ub={self.ub}")
