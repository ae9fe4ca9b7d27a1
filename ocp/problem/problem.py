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
from ocp.problem.checks import check_bounds_and_initial_state, check_shapes, check_symbols
from ocp.problem.interval_sizes import IntervalSizes
from ocp.problem.member_data import EnsembleData, SampledCost, column_symbol
from ocp.problem.terms import Bounds, Constraint, FreeParameter, Horizon, L1Cost, Parameter


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
        check_shapes(self)
        check_symbols(self)
        check_bounds_and_initial_state(self)
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

    def depends_on_member(self, expr: ca.SX) -> bool:
        """True when ``expr`` involves the state or the per-member data."""
        expr = ca.SX(expr)
        return bool(
            ca.depends_on(expr, self.state) or (self.data_symbol.numel() and ca.depends_on(expr, self.data_symbol))
        )
