"""Direct multiple shooting: from a `Problem` and a `MultipleShooting` method to an NLP.

Decision vector w = [free parameters; T (if free); X_0; U_0; S_0; X_1; U_1;
S_1; ...; X_K], X_k the (nx, N) states of all ensemble members at node k, U_k
the shared control on interval k, S_k the slacks of the L1 costs on interval
k (none without L1 costs): -S_k <= e(U_k) <= S_k, and int ||e||_1 dt is
sum_k h_k sum(S_k), exact because e is constant on the interval. A slack and
its constraints are the standard smooth form of |e|: where the optimum has
e = 0, both constraints are active and IPOPT returns e = 0 to its tolerance.
NLP parameters p = [fixed parameters; T (if fixed); per-member data].
Initial states enter as bounds on X_0, so new data of the same size needs no
rebuild either. With `Problem.interval_sizes` X_k and U_k hold only the entries that
exist at node k / on interval k, padded with zeros where the problem's
expressions are evaluated, and the gap constraint reads X_{k+1} = M_k Phi
(`interval_sizes.py`); a per-interval parameter enters interval k with its k-th value.

The per-interval step is built once as an SX function of ONE member and
applied to the whole batch at once (`functions.py`): replayed as vector
operations over the batch (`vectorize.py`, the default) or with
``Function.map``. Python loops
run over the K intervals only, never over the N members.

The condensed (single-shooting) form of the same objective, `SingleShooting`
(`ocp/problem/method.py`), drops X_1..X_K from w and computes them by forward
simulation: w = [free parameters; T; X_0; U_0; ...; U_{K-1}]. It serves the
first-order start (`first_order.py`), the optimality check and the gradient flow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import casadi as ca
import numpy as np

from ocp.nlp.collocation import collocation_intervals
from ocp.nlp.functions import (
    NodeFunctions,
    aggregate_weight,
    batch,
    merge,
    quadrature_function,
    split,
    stacked_bounds,
    step_function,
)
from ocp.nlp.layout import Layout, Padding, layout_of
from ocp.problem.checks import check_interval_sizes
from ocp.problem.method import DirectCollocation, MultipleShooting, SingleShooting
from ocp.problem.problem import Problem
from ocp.problem.terms import Constraint


class _Constraints:
    """The NLP's constraints g in the order they are added, each block with its bounds (scalars broadcast)."""

    def __init__(self) -> None:
        self.blocks: list[ca.MX] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []

    def add(self, block: ca.MX, lb, ub, size: int | None = None) -> None:
        size = block.numel() if size is None else size
        self.blocks.append(block)
        self.lower.append(np.broadcast_to(np.asarray(lb, dtype=float), (size,)).copy())
        self.upper.append(np.broadcast_to(np.asarray(ub, dtype=float), (size,)).copy())


@dataclass(frozen=True)
class TranscribedNLP:
    """The NLP of a problem: MX expressions, bounds on g, and the layout of w."""

    problem: Problem
    method: MultipleShooting
    w: ca.MX
    p: ca.MX
    f: ca.MX
    g: ca.MX
    lbg: np.ndarray
    ubg: np.ndarray
    term_names: tuple[str, ...]
    terms: ca.MX  # one entry per cost term, in term_names order
    layout: Layout
    step: ca.Function  # one member, one interval (dynamics only: no running costs)
    # what each interval's step was called with, (x_k (nx, N), u_k, parameters_k, t_k, h_k, data_k (nd, N)),
    # and T: the gaps' Jacobian in blocks (`jacobian.py`); none in the condensed form
    step_inputs: tuple[tuple[ca.MX, ...], ...] = ()
    T: ca.MX | None = None
    # the rows of g that are the dynamics, first in g: the gaps, and with direct collocation the ODE at the
    # collocation points (the Lagrangian of these alone gives dH/dU, `maximum_principle.py`)
    n_dynamics: int = 0
    # (K ns,): the L1 costs' expressions e on each interval, in the order of the slacks (`Layout.slacks`),
    # whose start S = |e| makes a start feasible for their constraints; empty without slacks
    l1_residuals: ca.MX = field(default_factory=lambda: ca.MX(0, 1))

    @property
    def N(self) -> int:
        return self.problem.N


def per_interval_function(nlp: TranscribedNLP, name: str, member_expr: Callable[..., ca.SX]) -> ca.Function:
    """(w, p) -> (rows, K N): ``member_expr(x, u, p, t, T, d, h)`` (SX in the problem's symbols and the
    interval length h) of each member on each interval, at the inputs the NLP's intervals see; interval
    k's members in columns k N to (k + 1) N - 1."""
    problem = nlp.problem
    x, u, p, t, T, d = problem.symbols()
    h = ca.SX.sym("h")
    names = ["x", "u", "p", "t", "T", "d", "h"]
    out = ca.densify(member_expr(x, u, p, t, T, d, h))
    one = ca.Function(f"{name}_member", [x, u, p, t, T, d, h], [out], names, ["out"])
    batched = batch(one, problem.N, nlp.method.parallelization, member_inputs=("x", "d"))
    blocks = [batched(x_k, u_k, p_k, t_k, nlp.T, d_k, h_k) for x_k, u_k, p_k, t_k, h_k, d_k in nlp.step_inputs]
    return ca.Function(name, [nlp.w, nlp.p], [ca.horzcat(*blocks)])


def transcribe(problem: Problem, method: MultipleShooting | SingleShooting) -> TranscribedNLP:
    """Transcribe ``problem`` by direct multiple shooting, or in the condensed form
    (`SingleShooting`: states eliminated, no gap constraints, L1 costs as its
    ``l1`` says). The NLP's ``method`` is the multiple-shooting grid either way.

    The parts, in the order the NLP is built: the decision variables
    (`_Variables`), the NLP parameters and the time grid (`_Inputs`), the
    shooting intervals (gaps and running costs), the terminal costs, the
    constraints at the nodes, the L1 costs (and their slack constraints)."""
    condensed = isinstance(method, SingleShooting)
    l1_slacks = not condensed or method.l1 == "slacks"
    method = method.shooting if condensed else method  # the grid, integrator and batch evaluation
    check_interval_sizes(problem, method)
    v = _Variables.make(problem, method, condensed, l1_slacks)
    at = _Inputs.make(problem, method, v)
    collocation = isinstance(method, DirectCollocation) and not condensed
    if collocation:
        gaps, collocation_eqs, running, run_names, step_inputs = collocation_intervals(problem, method, v, at)
    else:
        gaps, running, run_names, step_inputs = _shooting(problem, method, v, at, condensed)
        collocation_eqs = ca.MX(0, 1)
    terminal, term_names = _terminal_costs(problem, method, v, at)
    sampled = _sampled_costs(problem, method, v, at)
    n_gaps = 0 if condensed else sum(v.pad.state_size(k) for k in range(1, method.K + 1)) * problem.N
    g = _Constraints()
    g.add(ca.vertcat(*gaps), 0.0, 0.0, n_gaps)  # first in g: the gaps, whose multipliers are the costates
    g.add(collocation_eqs, 0.0, 0.0, collocation_eqs.numel())  # then the ODE at the collocation points
    _node_constraints(problem, method, v, at, g)
    l1, l1_residuals = _l1_costs(problem, method, v, at, l1_slacks, g)
    terms = ca.vertcat(running, terminal, sampled, l1)
    layout = layout_of(
        v.n_free,
        problem.horizon.free,
        method.K,
        problem.N,
        v.pad,
        state_nodes=1 if condensed else method.K + 1,
        ns=v.n_slacks,
        stages=method.degree * method.steps if collocation else 0,
    )
    return TranscribedNLP(
        problem=problem,
        method=method,
        w=v.w,
        p=at.p,
        f=ca.sum1(terms),
        g=ca.vertcat(*g.blocks),
        lbg=np.concatenate(g.lower),
        ubg=np.concatenate(g.upper),
        term_names=tuple(run_names + term_names + list(problem.sampled_costs) + v.l1_names),
        terms=terms,
        layout=layout,
        step=step_function(problem, method, []),
        step_inputs=() if condensed else tuple(step_inputs),
        T=at.T,
        n_dynamics=n_gaps + collocation_eqs.numel(),
        l1_residuals=l1_residuals,
    )


@dataclass
class _Variables:
    """The decision variables, in the order of the layout: free parameters, a free T, then per interval
    the states of every member (all nodes, or only the first when condensed), the control and the L1
    slacks, and the last node's states. ``X`` grows by the simulated nodes in the condensed form."""

    pad: Padding
    n_free: int
    free_params: ca.MX
    T_free: ca.MX
    X: list[ca.MX]
    U: list[ca.MX]
    S: list[ca.MX]
    w: ca.MX
    l1_names: list[str]
    l1_sizes: list[int]
    n_slacks: int
    Z: list[list[ca.MX]] = field(default_factory=list)  # direct collocation: (nx, N) per interval and point

    @classmethod
    def make(cls, problem: Problem, method: MultipleShooting, condensed: bool, l1_slacks: bool) -> _Variables:
        N, K = problem.N, method.K
        pad = Padding(problem.interval_sizes, problem.nx, problem.nu)
        n_free = sum(p.symbol.numel() for p in problem.free_parameters)
        free_params = ca.MX.sym("free_parameters", n_free)
        T_free = ca.MX.sym("T", 1 if problem.horizon.free else 0)
        X = [ca.MX.sym(f"X_{k}", pad.state_size(k), N) for k in range(1 if condensed else K + 1)]
        U = [ca.MX.sym(f"U_{k}", pad.control_size(k)) for k in range(K)]
        l1_names = list(problem.l1_costs)
        l1_sizes = [ca.SX(problem.l1_costs[n].expr).numel() for n in l1_names]
        n_slacks = sum(l1_sizes) if l1_slacks else 0
        S = [ca.MX.sym(f"S_{k}", n_slacks) for k in range(K)]
        blocks = [free_params, T_free]
        for k in range(K):
            blocks += ([ca.vec(X[k])] if k < len(X) else []) + [U[k], S[k]]
        if not condensed:
            blocks.append(ca.vec(X[K]))
        Z = []
        if isinstance(method, DirectCollocation) and not condensed:  # after every other block (`layout_of`)
            points = method.degree * method.steps  # every element's, in order
            Z = [[ca.MX.sym(f"Z_{k}_{i}", pad.state_size(k), N) for i in range(points)] for k in range(K)]
            blocks += [ca.vec(z) for stage in Z for z in stage]
        w = ca.vertcat(*blocks)
        return cls(pad, n_free, free_params, T_free, X, U, S, w, l1_names, l1_sizes, n_slacks, Z)


@dataclass(frozen=True)
class _Inputs:
    """The NLP parameters p = [fixed parameters; T (if fixed); per-member data; each sampled cost's samples
    and weights], the horizon T (a variable or a parameter), the parameter values on each interval, and
    the node times T tau_k. The data are (nd, N) or, per interval, (nd, K N) with interval k's members in
    columns k N to (k + 1) N - 1 (`parameters.data_parameters`). A sampled cost's samples are (ny, (K + 1) N) and its
    weights (1, (K + 1) N), node k's members in columns k N to (k + 1) N - 1 (`parameters.sample_parameters`)."""

    p: ca.MX
    data: ca.MX
    T: ca.MX
    interval_params: list[ca.MX]
    times: list[ca.MX]
    samples: dict[str, tuple[ca.MX, ca.MX]] = field(default_factory=dict)
    data_intervals: int = 1

    @classmethod
    def make(cls, problem: Problem, method: MultipleShooting, v: _Variables) -> _Inputs:
        K, N = method.K, problem.N
        fixed_params = ca.MX.sym("parameters", problem.fixed_parameter_size())
        T_param = ca.MX.sym("T", 0 if problem.horizon.free else 1)
        data = ca.MX.sym("data", problem.data_symbol.numel(), N * problem.data_intervals)
        samples = {
            name: (
                ca.MX.sym(f"samples_{name}", term.symbol.numel(), (K + 1) * N),
                ca.MX.sym(f"weights_{name}", 1, (K + 1) * N),
            )
            for name, term in problem.sampled_costs.items()
        }
        p = ca.vertcat(fixed_params, T_param, ca.vec(data), *[ca.vec(m) for pair in samples.values() for m in pair])
        T = v.T_free if problem.horizon.free else T_param
        params = ca.vertcat(fixed_params, v.free_params)
        if problem.has_interval_parameters:
            interval_params = [problem.parameters_on_interval(fixed_params, v.free_params, k) for k in range(K)]
        else:
            interval_params = [params] * K
        tau = method.normalised_grid()
        times = [T * tau[k] for k in range(K + 1)]
        return cls(p, data, T, interval_params, times, samples, problem.data_intervals)

    def data_on(self, k: int) -> ca.MX:
        """The members' data (nd, N) on interval k (node K sees the last interval's)."""
        if self.data_intervals == 1:
            return self.data
        N = self.data.shape[1] // self.data_intervals
        j = min(k, self.data_intervals - 1)
        return self.data[:, j * N : (j + 1) * N]


def _shooting(problem: Problem, method: MultipleShooting, v: _Variables, at: _Inputs, condensed: bool):
    """The gap constraints X_{k+1} = Phi(X_k, U_k) (none when condensed: the simulated states join ``v.X``)
    and the running costs, per-member ones riding along in the step's quadrature: (gaps, costs, names, and
    each interval's step inputs)."""
    N = problem.N
    run_names = list(problem.running_costs)
    run_exprs = [problem.running_costs[n] for n in run_names]
    run_split = split(problem, run_exprs)
    step_q = step_function(problem, method, [run_exprs[i] for i in run_split.member])
    shared_q = quadrature_function(problem, method, [run_exprs[i] for i in run_split.shared])
    step_batch = batch(step_q, N, method.parallelization, member_inputs=("x0", "d"))
    gaps = []
    member_running = ca.MX.zeros(len(run_split.member), 1)
    shared_running = ca.MX.zeros(len(run_split.shared), 1)
    times, X, pad = at.times, v.X, v.pad
    step_inputs = []
    for k in range(method.K):
        h_k = times[k + 1] - times[k]
        u_k = pad.control(k, v.U[k])
        x_k, params_k, data_k = pad.state(k, X[k]), at.interval_params[k], at.data_on(k)
        step_inputs.append((x_k, u_k, params_k, times[k], h_k, data_k))
        x_end, q = step_batch(x_k, u_k, params_k, times[k], h_k, at.T, data_k)
        x_next = pad.next_state(k, x_end)
        if condensed:
            X.append(x_next)
        else:
            # The gap-closing constraint of multiple shooting: X_{k+1} = Phi(X_k, U_k).
            gaps.append(ca.vec(X[k + 1] - x_next))
        member_running += ca.sum2(q)
        if run_split.shared:
            shared_running += shared_q(u_k, at.interval_params[k], times[k], h_k, at.T)
    running = merge(run_split, aggregate_weight(problem) * member_running, shared_running, len(run_names))
    return gaps, running, run_names, step_inputs


def _terminal_costs(problem: Problem, method: MultipleShooting, v: _Variables, at: _Inputs):
    """The terminal costs at the last node (the last interval's control applies there): (costs, names)."""
    K, pad = method.K, v.pad
    term_names = list(problem.terminal_costs)
    term_exprs = [problem.terminal_costs[n] for n in term_names]
    terminal = NodeFunctions.build(problem, "terminal", term_exprs, method.parallelization).aggregated(
        problem,
        pad.state(K, v.X[K]),
        pad.control(K - 1, v.U[K - 1]),
        at.interval_params[K - 1],
        at.times[K],
        at.T,
        at.data_on(K),
        aggregate_weight(problem),
    )
    return terminal, term_names


def _sampled_costs(problem: Problem, method: MultipleShooting, v: _Variables, at: _Inputs) -> ca.MX:
    """Each sampled cost summed over the nodes with its weights, aggregated over the members."""
    K, N, pad = method.K, problem.N, v.pad
    out = []
    for name, term in problem.sampled_costs.items():
        one = ca.Function(
            f"sampled_{name}",
            [*problem.symbols(), term.symbol],
            [ca.SX(term.expr)],
            ["x", "u", "p", "t", "T", "d", "y"],
            ["l"],
        )
        member = batch(one, N, method.parallelization, member_inputs=("x", "d", "y"))
        samples, weights = at.samples[name]
        total = 0
        for k in range(K + 1):
            j = min(k, K - 1)  # at the last node the control of the last interval applies
            columns = slice(k * N, (k + 1) * N)
            values = member(
                pad.state(k, v.X[k]),
                pad.control(j, v.U[j]),
                at.interval_params[j],
                at.times[k],
                at.T,
                at.data_on(k),
                samples[:, columns],
            )
            total += ca.mtimes(values, weights[:, columns].T)
        out.append(aggregate_weight(problem) * total)
    return ca.vertcat(*out) if out else ca.MX(0, 1)


def _node_constraints(problem: Problem, method: MultipleShooting, v: _Variables, at: _Inputs, g: _Constraints):
    """Path, initial and final constraints at their nodes, added to ``g`` with their bounds."""
    K, pad = method.K, v.pad
    for kind, nodes in (
        ("path_constraints", range(K + 1)),
        ("initial_constraints", [0]),
        ("final_constraints", [K]),
    ):
        constraints: tuple[Constraint, ...] = getattr(problem, kind)
        if not constraints:
            continue
        node = NodeFunctions.build(problem, kind, [c.expr for c in constraints], method.parallelization)
        lb, ub = stacked_bounds(constraints, node.parts, kind, problem.N)
        for k in nodes:
            # At the last node the control of the last interval applies.
            j = min(k, K - 1)
            x_k, u_j = pad.state(k, v.X[k]), pad.control(j, v.U[j])
            g.add(node.stacked(problem, x_k, u_j, at.interval_params[j], at.times[k], at.T, at.data_on(k)), lb, ub)
        if kind == "path_constraints" and v.Z and method.path_at_collocation_points:
            points = method.points()
            for k, stage in enumerate(v.Z):  # also between the nodes: at every collocation point
                h_k = at.times[k + 1] - at.times[k]
                x_ki, u_k = [pad.state(k, z) for z in stage], pad.control(k, v.U[k])
                for z, c_i in zip(x_ki, points, strict=True):
                    t_ki = at.times[k] + c_i * h_k
                    g.add(node.stacked(problem, z, u_k, at.interval_params[k], t_ki, at.T, at.data_on(k)), lb, ub)


def _l1_costs(problem: Problem, method: MultipleShooting, v: _Variables, at: _Inputs, l1_slacks: bool, g: _Constraints):
    """The L1 costs weight x int ||e||_1 dt: through slacks S_k >= |e(U_k)| (constraints appended to
    ``g``), or as sums of |e| without slacks. Returns (the costs, the expressions e per interval stacked
    when there are slacks)."""
    l1, residuals = ca.MX.zeros(len(v.l1_names), 1), []
    if not v.l1_names:
        return l1, ca.MX(0, 1)
    l1_terms = [problem.l1_costs[n] for n in v.l1_names]
    node = NodeFunctions.build(problem, "l1_costs", [ca.vec(c.expr) for c in l1_terms], "serial")
    weights = NodeFunctions.build(problem, "l1_weights", [c.weight for c in l1_terms], "serial")
    owner = np.repeat(np.arange(len(v.l1_names)), v.l1_sizes)  # which cost each slack belongs to
    pick = ca.DM(ca.Sparsity.triplet(len(v.l1_names), len(owner), owner.tolist(), list(range(len(owner)))), 1.0)
    bounded = [i for i, c in enumerate(l1_terms) if c.bound is not None]
    times = at.times
    for k in range(method.K):
        x_k, u_k = v.pad.state(k, v.X[k]), v.pad.control(k, v.U[k])
        e = node.stacked(problem, x_k, u_k, at.interval_params[k], times[k], at.T, at.data_on(k))
        w_k = weights.stacked(problem, x_k, u_k, at.interval_params[k], times[k], at.T, at.data_on(k))
        if not l1_slacks:
            l1 += (times[k + 1] - times[k]) * w_k * ca.mtimes(pick, ca.fabs(e))
            continue
        g.add(ca.vertcat(v.S[k] - e, v.S[k] + e), 0.0, np.inf, 2 * len(owner))  # both >= 0: S_k >= |e(U_k)|
        residuals.append(e)
        norms = ca.mtimes(pick, v.S[k])  # >= ||e_j(U_k)||_1, equal at the optimum
        if bounded:  # sum of the slacks <= bound implies ||e||_1 <= bound
            g.add(norms[bounded], -np.inf, np.array([l1_terms[i].bound for i in bounded], dtype=float), len(bounded))
        l1 += (times[k + 1] - times[k]) * w_k * norms
    return l1, ca.vertcat(*residuals) if residuals else ca.MX(0, 1)
