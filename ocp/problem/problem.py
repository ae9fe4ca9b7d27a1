"""The immutable description of an optimal control problem.

A `Problem` holds CasADi SX expressions in symbols the user created, plus
bounds and values. It is checked when it is built; it holds no solver state.

Ensembles: a problem with N initial states (rows of ``initial_state``) and
optional per-member data (rows of ``ensemble_data.values``) poses N
trajectories x_i(t) driven by the SAME control u(t). Every cost term or
constraint that depends on the state (or on the member's data) is evaluated
per member and aggregated over the N members (``aggregate``: mean or sum); a term
that depends only on controls, parameters and time is evaluated once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import casadi as ca
import numpy as np

from ocp.errors import ProblemError
from ocp.problem.interval_sizes import IntervalSizes
from ocp.problem.member_data import EnsembleData, SampledCost, column_symbol


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


def _as_tuple(items, what: str, kind: type) -> tuple:
    """A sequence of ``kind`` as a tuple; a single one is accepted as a sequence of one."""
    if isinstance(items, kind):
        return (items,)
    try:
        items = tuple(items)
    except TypeError:
        raise ProblemError(f"{what} must be a sequence of {kind.__name__}, got {type(items).__name__}") from None
    wrong = [type(item).__name__ for item in items if not isinstance(item, kind)]
    if wrong:
        raise ProblemError(f"{what} must hold {kind.__name__} objects, got {wrong[0]}")
    return items


@dataclass(frozen=True)
class Problem:
    """An optimal control problem on [0, T] (see module docstring for ensembles).

    minimise   sum_j  agg_b  int_0^T L_j(x_b, u, p, t, d_b) dt  +  sum_j agg_b Phi_j(x_b(T), p, T, d_b)
               + sum_j agg_b sum_k w_bk l_j(x_b(t_k), p, t_k, d_b, y_bk)
    subject to x_b' = f(x_b, u, p, t, d_b),  x_b(0) = initial_state[b] (if given),
               bounds, path / initial / final constraints.

    Attributes
    ----------
    state, control : SX column symbols of sizes nx, nu.
    dynamics : SX (nx,), f in the symbols state, control, time, parameters, data.
    horizon : Horizon (its ``symbol`` may appear in expressions).
    running_costs, terminal_costs : name -> scalar SX. Terminal costs read
        ``state`` as x(T).
    l1_costs : name -> `L1Cost` (or a bare SX e(u, p), weight 1) of any size;
        adds weight x int_0^T ||e||_1 dt (e.g. minimum fuel, an L1 weight on
        the controls). Solved exactly: the transcription adds slacks s >= |e|
        per interval (`transcription.py`), so e = 0 holds to IPOPT's tolerance
        where the optimum has it, instead of being smoothed away. e may not
        depend on the state, the member data or the time, so it is constant
        on each control interval.
    sampled_costs : name -> `SampledCost`: sums over the shooting nodes of a
        per-member expression in the state and the member's sample there
        (fitting observed trajectories: nodes at the observation times).
    initial_state : (nx,) or (N, nx); None leaves x(0) free (use
        ``initial_constraints`` and ``state_bounds``, or a sampled cost on the
        first node). N comes from it, else from ``ensemble_data``, else from
        the sampled costs' values.
    interval_sizes : the state and control entries that exist on each interval when
        their number changes with the interval (`interval_sizes.py`); None: all, always.
    """

    state: ca.SX
    control: ca.SX
    dynamics: ca.SX
    horizon: Horizon = field(default_factory=Horizon)
    time: ca.SX | None = None
    parameters: tuple[Parameter, ...] = ()
    free_parameters: tuple[FreeParameter, ...] = ()
    running_costs: Mapping[str, ca.SX] = field(default_factory=dict)
    terminal_costs: Mapping[str, ca.SX] = field(default_factory=dict)
    l1_costs: Mapping[str, L1Cost | ca.SX] = field(default_factory=dict)
    sampled_costs: Mapping[str, SampledCost] = field(default_factory=dict)
    path_constraints: tuple[Constraint, ...] = ()
    initial_constraints: tuple[Constraint, ...] = ()
    final_constraints: tuple[Constraint, ...] = ()
    initial_state: np.ndarray | Sequence[float] | None = None
    state_bounds: Bounds = Bounds()
    control_bounds: Bounds = Bounds()
    state_guess: float | Sequence[float] | np.ndarray = 0.0
    control_guess: float | Sequence[float] | np.ndarray = 0.0
    ensemble_data: EnsembleData | None = None
    aggregate: Literal["mean", "sum"] = "mean"
    interval_sizes: IntervalSizes | None = None

    def __post_init__(self) -> None:
        column_symbol(self.state, "state")
        column_symbol(self.control, "control")
        if self.time is not None:
            column_symbol(self.time, "time")
        if isinstance(self.dynamics, (list, tuple)):  # one expression per state entry: stack them
            object.__setattr__(self, "dynamics", ca.vertcat(*self.dynamics))
        object.__setattr__(self, "parameters", _as_tuple(self.parameters, "parameters", Parameter))
        object.__setattr__(self, "free_parameters", _as_tuple(self.free_parameters, "free_parameters", FreeParameter))
        for name in ("path_constraints", "initial_constraints", "final_constraints"):
            object.__setattr__(self, name, _as_tuple(getattr(self, name), name, Constraint))
        for name in ("running_costs", "terminal_costs", "l1_costs", "sampled_costs"):
            if not isinstance(getattr(self, name), Mapping):
                raise ProblemError(
                    f"{name} must map a name to an expression, e.g. {name}={{'effort': u**2}}; "
                    f"got {type(getattr(self, name)).__name__}"
                )
        object.__setattr__(self, "running_costs", dict(self.running_costs))
        object.__setattr__(self, "terminal_costs", dict(self.terminal_costs))
        l1 = {k: v if isinstance(v, L1Cost) else L1Cost(v) for k, v in self.l1_costs.items()}
        object.__setattr__(self, "l1_costs", l1)
        object.__setattr__(self, "sampled_costs", dict(self.sampled_costs))
        for name, term in self.sampled_costs.items():
            if not isinstance(term, SampledCost):
                raise ProblemError(f"sampled_costs[{name!r}] must be an ocp.SampledCost, got {type(term).__name__}")
        if self.aggregate not in ("mean", "sum"):
            raise ProblemError(f"aggregate must be 'mean' or 'sum', got {self.aggregate!r}")
        self._check_shapes()
        self._check_symbols()
        self._check_bounds_and_initial_state()
        if self.interval_sizes is not None:
            self.interval_sizes.check(self.nx, self.nu)
        for p in self.parameters:
            value = np.asarray(p.value, dtype=float)
            if p.per_interval and (value.ndim != 2 or value.shape[1] != p.symbol.numel()):
                raise ProblemError(
                    f"parameter {p.name!r} is per interval: its value needs shape (K, {p.symbol.numel()}), "
                    f"got {value.shape}"
                )

    # --- sizes -----------------------------------------------------------
    @property
    def nx(self) -> int:
        return self.state.numel()

    @property
    def nu(self) -> int:
        return self.control.numel()

    @property
    def N(self) -> int:
        """The number of members of the ensemble (a learning problem's data points)."""
        if self.initial_state is not None:
            return np.atleast_2d(np.asarray(self.initial_state, dtype=float)).shape[0]
        if self.ensemble_data is not None:
            return np.atleast_2d(self.ensemble_data.values).shape[0]
        for term in self.sampled_costs.values():  # free initial states, members told apart by their samples
            return np.shape(term.values)[0]
        return 1

    @property
    def data_symbol(self) -> ca.SX:
        return self.ensemble_data.symbol if self.ensemble_data is not None else ca.SX(0, 1)

    @property
    def data_values(self) -> np.ndarray:
        """(N, nd) per-member data (nd may be 0); (N, K, nd) for per-interval data."""
        if self.ensemble_data is None:
            return np.zeros((self.N, 0))
        values = np.asarray(self.ensemble_data.values, dtype=float)
        if self.ensemble_data.per_interval:
            return values.reshape(self.N, self.data_intervals, -1)
        return values.reshape(self.N, -1)

    @property
    def data_intervals(self) -> int:
        """How many values of its data each member holds: K for per-interval data, else 1."""
        return 1 if self.ensemble_data is None else self.ensemble_data.intervals

    def initial_states(self, override: np.ndarray | Sequence[float] | None = None) -> np.ndarray | None:
        """(N, nx) initial states: ``override`` (one per member, checked) or the problem's; None where
        x(0) is free and nothing overrides it."""
        if override is not None:
            x0 = np.atleast_2d(np.asarray(override, dtype=float))
            if x0.shape != (self.N, self.nx):
                raise ProblemError(f"initial_state must have shape ({self.N}, {self.nx}), got {x0.shape}")
            return x0
        if self.initial_state is None:
            return None
        return np.atleast_2d(np.asarray(self.initial_state, dtype=float))

    def free_parameter_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the free parameters, stacked in their order."""
        parts = [p.bounds.arrays(p.symbol.numel(), f"free parameter {p.name!r} bounds") for p in self.free_parameters]
        if not parts:
            return np.zeros(0), np.zeros(0)
        return np.concatenate([lb for lb, _ in parts]), np.concatenate([ub for _, ub in parts])

    def parameter_vector(self) -> ca.SX:
        """All parameter symbols, fixed then free, stacked."""
        syms = [p.symbol for p in self.parameters] + [p.symbol for p in self.free_parameters]
        return ca.vertcat(*[ca.vec(s) for s in syms]) if syms else ca.SX(0, 1)

    def fixed_parameter_size(self) -> int:
        """Entries of the stacked fixed parameter values (a per-interval one counts K times)."""
        return sum(p.symbol.numel() * p.intervals for p in self.parameters)

    @property
    def has_interval_parameters(self) -> bool:
        return any(p.per_interval for p in self.parameters)

    def parameters_on_interval(self, fixed, free, k: int):
        """The parameter vector (fixed, then free) seen on interval k, from the stacked fixed values
        (every interval's for a per-interval parameter) and the free ones; CasADi or numpy inputs."""
        blocks, offset = [], 0
        for p in self.parameters:
            n = p.symbol.numel()
            start = offset + (k * n if p.per_interval else 0)
            blocks.append(fixed[start : start + n])
            offset += n * p.intervals
        return ca.vertcat(*blocks, free)

    def symbols(self) -> list[ca.SX]:
        """Inputs of every problem function: state, control, parameters, time, T, data."""
        t = self.time if self.time is not None else ca.SX.sym("t_unused")
        return [self.state, self.control, self.parameter_vector(), t, self.horizon.symbol, self.data_symbol]

    # --- checks ----------------------------------------------------------
    def _check_shapes(self) -> None:
        if ca.SX(self.dynamics).shape != (self.nx, 1):
            raise ProblemError(f"dynamics must have shape ({self.nx}, 1) like state, got {ca.SX(self.dynamics).shape}")
        for kind, terms in (("running_costs", self.running_costs), ("terminal_costs", self.terminal_costs)):
            for name, expr in terms.items():
                if ca.SX(expr).numel() != 1:
                    raise ProblemError(f"{kind}[{name!r}] must be a scalar expression, got shape {ca.SX(expr).shape}")
        names = [*self.running_costs, *self.terminal_costs, *self.l1_costs, *self.sampled_costs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ProblemError(f"cost names must be unique across running, terminal, L1 and sampled costs: {repeated}")
        for name, term in self.l1_costs.items():
            if ca.SX(term.expr).numel() == 0:
                raise ProblemError(f"l1_costs[{name!r}] is empty")
            if ca.SX(term.weight).numel() != 1:
                raise ProblemError(f"l1_costs[{name!r}].weight must be a scalar")
            if term.bound is not None and not term.bound >= 0:
                raise ProblemError(f"l1_costs[{name!r}].bound must be >= 0, got {term.bound}")
        try:
            N, x0 = self.N, self.initial_states()
        except (TypeError, ValueError):
            raise ProblemError(f"initial_state must be numbers, shape ({self.nx},) or (N, {self.nx})") from None
        if x0 is not None and (x0.ndim != 2 or x0.shape[1] != self.nx):
            raise ProblemError(f"initial_state must have {self.nx} columns (one per state), got shape {x0.shape}")
        if self.ensemble_data is not None:
            self._check_data(N)
        self.state_bounds.arrays(self.nx, "state_bounds")
        self.control_bounds.arrays(self.nu, "control_bounds")
        for name, term in self.sampled_costs.items():
            term.check(name, N)

    def _check_data(self, N: int) -> None:
        nd, per_interval = self.data_symbol.numel(), self.ensemble_data.per_interval
        try:
            values = np.asarray(self.ensemble_data.values, dtype=float)
        except (TypeError, ValueError):
            raise ProblemError("ensemble_data.values must be numbers") from None
        if per_interval:
            if values.ndim != 3 or values.shape[0] != N or values.shape[2] != nd or values.shape[1] < 1:
                raise ProblemError(
                    f"per-interval ensemble_data.values must have shape ({N}, K, {nd}), got {values.shape}"
                )
        else:
            values = np.atleast_2d(values)
            if values.shape[0] != N or values.size != N * nd:
                raise ProblemError(f"ensemble_data.values must have shape ({N}, {nd}), got {values.shape}")
        if not np.all(np.isfinite(values)):
            raise ProblemError("ensemble_data.values must be finite numbers")

    def _check_bounds_and_initial_state(self) -> None:
        """Sizes of bounds and constraint bounds, and an initial state that is finite and within the state
        bounds (IPOPT would otherwise fail with NaN in its bounds, or report success with x(0) out of them)."""
        state_lb, state_ub = self.state_bounds.arrays(self.nx, "state_bounds")
        self.control_bounds.arrays(self.nu, "control_bounds")
        for kind in ("path_constraints", "initial_constraints", "final_constraints"):
            for i, c in enumerate(getattr(self, kind)):
                Bounds(c.lb, c.ub).arrays(ca.SX(c.expr).numel(), f"{kind}[{i}]")
        x0 = self.initial_states()  # its shape is checked in _check_shapes
        if x0 is None:
            return
        bad = np.argwhere(~np.isfinite(x0))
        if bad.size:
            b, i = bad[0]
            raise ProblemError(
                f"initial_state has {len(bad)} entries that are not finite numbers (None, NaN or inf), "
                f"first: member {b}, entry {i}"
            )
        outside = np.argwhere((x0 < state_lb) | (x0 > state_ub))
        if outside.size:
            b, i = outside[0]
            raise ProblemError(
                f"initial_state lies outside state_bounds in {len(outside)} entries, first: member {b}, entry {i}: "
                f"{x0[b, i]} not in [{state_lb[i]}, {state_ub[i]}]"
            )

    def _check_symbols(self) -> None:
        inputs = self.symbols()
        named = {"dynamics": self.dynamics}
        named |= {f"running_costs[{k!r}]": v for k, v in self.running_costs.items()}
        named |= {f"terminal_costs[{k!r}]": v for k, v in self.terminal_costs.items()}
        for kind in ("path_constraints", "initial_constraints", "final_constraints"):
            named |= {f"{kind}[{i}]": c.expr for i, c in enumerate(getattr(self, kind))}
        named |= {f"l1_costs[{k!r}]": ca.vertcat(ca.vec(v.expr), v.weight) for k, v in self.l1_costs.items()}
        sample_symbols = {}
        for name, term in self.sampled_costs.items():
            named[f"sampled_costs[{name!r}]"] = term.expr
            sample_symbols[f"sampled_costs[{name!r}]"] = term.symbol
        for what, expr in named.items():
            known = inputs + [sample_symbols.get(what, ca.SX(0, 1))]
            try:
                ca.Function("check", known, [ca.SX(expr)])
            except RuntimeError as err:
                free = [s.name() for s in ca.symvar(ca.SX(expr)) if not _declared(s, known)]
                hint = ""
                if self.horizon.symbol.name() in free:
                    hint = " (the horizon's symbol of another Horizon? use this problem's horizon.symbol)"
                raise ProblemError(f"{what} uses symbols the problem does not declare: {free}{hint}") from err
        for name, term in self.l1_costs.items():
            both = ca.vertcat(ca.vec(ca.SX(term.expr)), ca.SX(term.weight))
            timed = self.time is not None and ca.depends_on(both, self.time)
            if self.depends_on_member(both) or timed:
                raise ProblemError(
                    f"l1_costs[{name!r}] may depend on controls and parameters only (not on the state, the "
                    "member data or the time), so that it is constant on each control interval"
                )

    def depends_on_member(self, expr: ca.SX) -> bool:
        """True when ``expr`` involves the state or the per-member data."""
        expr = ca.SX(expr)
        return bool(
            ca.depends_on(expr, self.state) or (self.data_symbol.numel() and ca.depends_on(expr, self.data_symbol))
        )


def _declared(sym: ca.SX, inputs: list[ca.SX]) -> bool:
    return any(ca.depends_on(sym, inp) for inp in inputs if inp.numel())
