"""The checks a `Problem` runs when it is built: each names the field that is wrong and why.

They read the problem's fields only; `problem.py` calls them from ``Problem.__post_init__``, and the
transcription calls `check_interval_sizes` once the method (and so K) is known.
"""

from __future__ import annotations

import casadi as ca
import numpy as np

from ocp.errors import ProblemError
from ocp.problem.method import MultipleShooting
from ocp.problem.terms import Bounds


def check_shapes(problem) -> None:
    """Shapes of the dynamics, costs, initial states, data and bounds; cost names unique."""
    if ca.SX(problem.dynamics).shape != (problem.nx, 1):
        raise ProblemError(
            f"dynamics must have shape ({problem.nx}, 1) like state, got {ca.SX(problem.dynamics).shape}"
        )
    for kind, terms in (("running_costs", problem.running_costs), ("terminal_costs", problem.terminal_costs)):
        for name, expr in terms.items():
            if ca.SX(expr).numel() != 1:
                raise ProblemError(f"{kind}[{name!r}] must be a scalar expression, got shape {ca.SX(expr).shape}")
    names = [*problem.running_costs, *problem.terminal_costs, *problem.l1_costs, *problem.sampled_costs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ProblemError(f"cost names must be unique across running, terminal, L1 and sampled costs: {repeated}")
    for name, term in problem.l1_costs.items():
        if ca.SX(term.expr).numel() == 0:
            raise ProblemError(f"l1_costs[{name!r}] is empty")
        if ca.SX(term.weight).numel() != 1:
            raise ProblemError(f"l1_costs[{name!r}].weight must be a scalar")
        if term.bound is not None and not term.bound >= 0:
            raise ProblemError(f"l1_costs[{name!r}].bound must be >= 0, got {term.bound}")
    try:
        N, x0 = problem.N, problem.initial_states()
    except (TypeError, ValueError):
        raise ProblemError(f"initial_state must be numbers, shape ({problem.nx},) or (N, {problem.nx})") from None
    if x0 is not None and (x0.ndim != 2 or x0.shape[1] != problem.nx):
        raise ProblemError(f"initial_state must have {problem.nx} columns (one per state), got shape {x0.shape}")
    if problem.ensemble_data is not None:
        check_data(problem, N)
    problem.state_bounds.arrays(problem.nx, "state_bounds")
    problem.control_bounds.arrays(problem.nu, "control_bounds")
    for name, term in problem.sampled_costs.items():
        term.check(name, N)


def check_data(problem, N: int) -> None:
    """The per-member data: numbers, finite, one row (or one (K, nd) block) per member."""
    nd, per_interval = problem.data_symbol.numel(), problem.ensemble_data.per_interval
    try:
        values = np.asarray(problem.ensemble_data.values, dtype=float)
    except (TypeError, ValueError):
        raise ProblemError("ensemble_data.values must be numbers") from None
    if per_interval:
        if values.ndim != 3 or values.shape[0] != N or values.shape[2] != nd or values.shape[1] < 1:
            raise ProblemError(f"per-interval ensemble_data.values must have shape ({N}, K, {nd}), got {values.shape}")
    else:
        values = np.atleast_2d(values)
        if values.shape[0] != N or values.size != N * nd:
            raise ProblemError(f"ensemble_data.values must have shape ({N}, {nd}), got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ProblemError("ensemble_data.values must be finite numbers")


def check_bounds_and_initial_state(problem) -> None:
    """Sizes of bounds and constraint bounds, and an initial state that is finite and within the state
    bounds (IPOPT would otherwise fail with NaN in its bounds, or report success with x(0) out of them)."""
    state_lb, state_ub = problem.state_bounds.arrays(problem.nx, "state_bounds")
    problem.control_bounds.arrays(problem.nu, "control_bounds")
    for kind in ("path_constraints", "initial_constraints", "final_constraints"):
        for i, c in enumerate(getattr(problem, kind)):
            Bounds(c.lb, c.ub).arrays(ca.SX(c.expr).numel(), f"{kind}[{i}]")
    x0 = problem.initial_states()  # its shape is checked in _check_shapes
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


def check_symbols(problem) -> None:
    """Every expression uses only the problem's declared symbols; L1 costs constant on each interval."""
    inputs = problem.symbols()
    named = {"dynamics": problem.dynamics}
    named |= {f"running_costs[{k!r}]": v for k, v in problem.running_costs.items()}
    named |= {f"terminal_costs[{k!r}]": v for k, v in problem.terminal_costs.items()}
    for kind in ("path_constraints", "initial_constraints", "final_constraints"):
        named |= {f"{kind}[{i}]": c.expr for i, c in enumerate(getattr(problem, kind))}
    named |= {f"l1_costs[{k!r}]": ca.vertcat(ca.vec(v.expr), v.weight) for k, v in problem.l1_costs.items()}
    sample_symbols = {}
    for name, term in problem.sampled_costs.items():
        named[f"sampled_costs[{name!r}]"] = term.expr
        sample_symbols[f"sampled_costs[{name!r}]"] = term.symbol
    for what, expr in named.items():
        known = inputs + [sample_symbols.get(what, ca.SX(0, 1))]
        try:
            ca.Function("check", known, [ca.SX(expr)])
        except RuntimeError as err:
            free = [s.name() for s in ca.symvar(ca.SX(expr)) if not _declared(s, known)]
            hint = ""
            if problem.horizon.symbol.name() in free:
                hint = " (the horizon's symbol of another Horizon? use this problem's horizon.symbol)"
            raise ProblemError(f"{what} uses symbols the problem does not declare: {free}{hint}") from err
    for name, term in problem.l1_costs.items():
        both = ca.vertcat(ca.vec(ca.SX(term.expr)), ca.SX(term.weight))
        timed = problem.time is not None and ca.depends_on(both, problem.time)
        if problem.depends_on_member(both) or timed:
            raise ProblemError(
                f"l1_costs[{name!r}] may depend on controls and parameters only (not on the state, the "
                "member data or the time), so that it is constant on each control interval"
            )


def check_interval_sizes(problem, method: MultipleShooting) -> None:
    """IntervalSizes and per-interval parameters must have one entry per interval of ``method``."""
    if problem.interval_sizes is not None and problem.interval_sizes.K != method.K:
        raise ProblemError(
            f"the problem's interval_sizes cover {problem.interval_sizes.K} intervals but the method has K = {method.K}"
        )
    for p in problem.parameters:
        if p.per_interval and p.intervals != method.K:
            raise ProblemError(
                f"per-interval parameter {p.name!r} has {p.intervals} values but the method has K = {method.K}"
            )
    data = problem.ensemble_data
    if data is not None and data.per_interval and data.intervals != method.K:
        raise ProblemError(
            f"per-interval ensemble_data has {data.intervals} intervals but the method has K = {method.K}"
        )
    for name, term in problem.sampled_costs.items():
        if term.nodes != method.K + 1:
            raise ProblemError(
                f"sampled_costs[{name!r}] has samples at {term.nodes} nodes but the method has K + 1 = {method.K + 1}"
            )


def _declared(sym: ca.SX, inputs: list[ca.SX]) -> bool:
    return any(ca.depends_on(sym, inp) for inp in inputs if inp.numel())
