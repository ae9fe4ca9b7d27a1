"""The CasADi functions a transcription evaluates on its grid (`transcription.py` puts them together).

- `step_function`: one interval of the dynamics for ONE member, with the
  running costs integrated as extra states (their quadrature has the
  integrator's order); `quadrature_function`: integrals of terms that depend
  on no state or data, evaluated once per interval rather than per member.
- `NodeFunctions`: expressions at one grid node (terminal costs,
  constraints, L1 terms), split by `split` into per-member ones and shared
  ones, built once per kind and called at every node.
- `batch`: a one-member function applied to the whole ensemble, as vector
  operations (`vectorize.py`) or with ``Function.map``.
"""

from __future__ import annotations

from dataclasses import dataclass

import casadi as ca
import numpy as np

from ocp.nlp.vectorize import batched, replayable
from ocp.problem.method import MultipleShooting
from ocp.problem.problem import Problem
from ocp.problem.terms import Constraint


@dataclass(frozen=True)
class Split:
    """Expressions split into per-member ones (mapped over N) and shared ones."""

    member: list[int]
    shared: list[int]


def split(problem: Problem, exprs: list[ca.SX]) -> Split:
    member = [i for i, e in enumerate(exprs) if problem.depends_on_member(e)]
    return Split(member, [i for i in range(len(exprs)) if i not in member])


def _function(problem: Problem, name: str, exprs: list[ca.SX]) -> ca.Function:
    """f(x, u, p, t, T, d) -> vertcat(exprs), in the problem's symbols."""
    out = ca.vertcat(*[ca.vec(ca.SX(e)) for e in exprs]) if exprs else ca.SX(0, 1)
    return ca.Function(name, problem.symbols(), [out], ["x", "u", "p", "t", "T", "d"], ["out"])


def dynamics_function(problem: Problem) -> ca.Function:
    """f(x, u, p, t, T, d) -> the problem's dynamics, for one member."""
    return _function(problem, "dynamics", [problem.dynamics])


def aggregate_weight(problem: Problem) -> float:
    """The weight of each member's value in a per-member cost: 1/N for a mean, 1 for a sum."""
    return 1.0 / problem.N if problem.aggregate == "mean" else 1.0


def member_function(problem: Problem, name: str, exprs: list[ca.SX], parallelization: str) -> ca.Function:
    """(x (nx, N), u, p, t, T, d (nd, N)) -> (rows, N): ``exprs`` of every member, whether or not they depend
    on the member."""
    return batch(_function(problem, name, exprs), problem.N, parallelization, member_inputs=("x", "d"))


def step_function(problem: Problem, method: MultipleShooting, running: list[ca.SX]) -> ca.Function:
    """One interval for one member: (x0, u, p, t0, h, T, d) -> (x(t0 + h), int_{t0}^{t0+h} running dt).

    The running costs are integrated as extra states, so their quadrature has
    the integrator's order.
    """
    x, u, p, _, T, d = problem.symbols()
    t0, h = ca.SX.sym("t0"), ca.SX.sym("h")
    rhs = _function(problem, "augmented_rhs", [problem.dynamics, *running])

    def augmented(z: ca.SX, t: ca.SX) -> ca.SX:
        return rhs(z[: problem.nx], u, p, t, T, d)

    z_end = method.integrator.integrate(augmented, ca.vertcat(x, ca.SX.zeros(len(running))), t0, h)
    return ca.Function(
        "step",
        [x, u, p, t0, h, T, d],
        [z_end[: problem.nx], z_end[problem.nx :]],
        ["x0", "u", "p", "t0", "h", "T", "d"],
        ["xf", "q"],
    )


def quadrature_function(problem: Problem, method: MultipleShooting, integrands: list[ca.SX]) -> ca.Function:
    """Integrals over one interval of terms free of state and data: (u, p, t0, h, T) -> q."""
    _, u, p, _, T, _ = problem.symbols()
    t0, h = ca.SX.sym("t0"), ca.SX.sym("h")
    rhs = _function(problem, "shared_integrand", integrands)
    zero_x, zero_d = ca.SX.zeros(problem.nx), ca.SX.zeros(problem.data_symbol.numel())
    q = method.integrator.integrate(lambda _q, t: rhs(zero_x, u, p, t, T, zero_d), ca.SX.zeros(len(integrands)), t0, h)
    return ca.Function("quadrature", [u, p, t0, h, T], [q], ["u", "p", "t0", "h", "T"], ["q"])


def batch(f: ca.Function, N: int, parallelization: str, member_inputs: tuple[str, ...]) -> ca.Function:
    """``f`` of one member applied to all N members: as vector operations over
    the batch (`vectorize.py`) by default, else with ``Function.map``."""
    if parallelization == "vectorized" and replayable(f):
        return batched(f, N, member_inputs)
    return f.map(N, "thread" if parallelization == "thread" else "serial")


@dataclass(frozen=True)
class NodeFunctions:
    """Expressions evaluated at one grid node: per member (mapped over N) or once (shared).

    Built once per kind of term and called at every node, so the graph holds
    one function per kind, not one per node.
    """

    parts: Split
    member: ca.Function | None  # (x, u, p, t, T, d) mapped over the batch
    shared: ca.Function | None  # (x, u, p, t, T, d) with x and d unused

    @classmethod
    def build(cls, problem: Problem, name: str, exprs: list[ca.SX], parallelization: str) -> NodeFunctions:
        parts = split(problem, exprs)
        member = _function(problem, f"{name}_member", [exprs[i] for i in parts.member]) if parts.member else None
        shared = _function(problem, f"{name}_shared", [exprs[i] for i in parts.shared]) if parts.shared else None
        if member is not None:
            member = batch(member, problem.N, parallelization, member_inputs=("x", "d"))
        return cls(parts, member, shared)

    def _shared_values(self, problem: Problem, u, params, t, T) -> ca.MX:
        zero_x, zero_d = ca.DM.zeros(problem.nx, 1), ca.DM.zeros(problem.data_symbol.numel(), 1)
        return self.shared(zero_x, u, params, t, T, zero_d)

    def stacked(self, problem: Problem, x, u, params, t, T, data) -> ca.MX:
        """[vec of the (n_member, N) member values; shared values]: the order of `stacked_bounds`."""
        blocks = []
        if self.member is not None:
            blocks.append(ca.vec(self.member(x, u, params, t, T, data)))
        if self.shared is not None:
            blocks.append(self._shared_values(problem, u, params, t, T))
        return ca.vertcat(*blocks)

    def aggregated(self, problem: Problem, x, u, params, t, T, data, scale: float) -> ca.MX:
        """One scalar per expression, in the input order; member values summed over N and scaled."""
        out = ca.MX.zeros(len(self.parts.member) + len(self.parts.shared), 1)
        if self.member is not None:
            totals = ca.sum2(self.member(x, u, params, t, T, data))
            for row, i in enumerate(self.parts.member):
                out[i] = scale * totals[row]
        if self.shared is not None:
            values = self._shared_values(problem, u, params, t, T)
            for row, i in enumerate(self.parts.shared):
                out[i] = values[row]
        return out


def stacked_bounds(constraints: tuple[Constraint, ...], parts: Split, kind: str, N: int) -> tuple[np.ndarray, ...]:
    """Bounds in the order of `NodeFunctions.stacked`: member bounds repeated per member, then shared."""
    bounds = [c.bounds(f"{kind}[{i}]") for i, c in enumerate(constraints)]

    def gather(indices: list[int], reps: int) -> tuple[np.ndarray, np.ndarray]:
        lb = np.concatenate([bounds[i][0] for i in indices]) if indices else np.zeros(0)
        ub = np.concatenate([bounds[i][1] for i in indices]) if indices else np.zeros(0)
        return np.tile(lb, reps), np.tile(ub, reps)

    (m_lb, m_ub), (s_lb, s_ub) = gather(parts.member, N), gather(parts.shared, 1)
    return np.concatenate([m_lb, s_lb]), np.concatenate([m_ub, s_ub])


def merge(parts: Split, member: ca.MX, shared: ca.MX, n: int) -> ca.MX:
    out = ca.MX.zeros(n, 1)
    for row, i in enumerate(parts.member):
        out[i] = member[row]
    for row, i in enumerate(parts.shared):
        out[i] = shared[row]
    return out
