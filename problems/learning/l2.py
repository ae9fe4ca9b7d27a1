"""Problem A1 (docs/science.md, A): min_u E(x(T)) + lambda ||u||^2_{L2(0,T)}.

E(x(T)) = (1/N) sum_i loss(g(P x_i(T)), y_i); lambda is a fixed NLP parameter,
so a new lambda (or T) re-solves without rebuilding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import casadi as ca

import ocp
from ocp.run.settings import RunSettings

from .datasets import Dataset
from .ensemble import ensemble_problem, learning_symbols
from .losses import Loss, Output
from .networks import NetworkDynamics
from .problem_type import LOSS, LearningProblemType
from .settings import LearningSettings

REGULARIZATION = "regularization"


def l2_problem(
    data: Dataset,
    dynamics: NetworkDynamics,
    *,
    T: float,
    lam: float,
    loss: Loss = "squared",
    output: Output = "tanh",
) -> tuple[ocp.Problem, Any]:
    """The A1 ensemble OCP for ``data`` and its `LearningSymbols`.

    Cost terms: ``loss`` = E(x(T)) (mean over the N points) and
    ``regularization`` = lambda int_0^T |u(t)|^2 dt, lambda the parameter 'lambda'.
    """
    s = learning_symbols(data, dynamics, loss, output)
    lam_sym = ca.SX.sym("lambda")
    problem = ensemble_problem(
        s,
        data,
        T,
        parameters=(ocp.Parameter(lam_sym, lam, continuation=True),),
        running_costs={REGULARIZATION: lam_sym * ca.sumsqr(s.control)},
        terminal_costs={LOSS: s.point_loss},
    )
    return problem, s


@dataclass(frozen=True)
class L2Settings(LearningSettings):
    """Config keys of ``problem: l2`` (beside the common ones of `RunSettings`)."""

    lam: float = field(default=1e-3, metadata={"key": "lambda", "ge": 0.0})


class L2ProblemType(LearningProblemType):
    name = "l2"
    description = "A1: terminal loss + lambda ||u||^2_L2 (neural ODE classifier, docs/science.md A)"
    settings = L2Settings

    def pose(self, train: Dataset, settings: L2Settings, run: RunSettings) -> tuple[ocp.Problem, Any]:
        dynamics = settings.dynamics.network(run.K)
        return l2_problem(train, dynamics, T=run.T, lam=settings.lam, loss=settings.loss, output=settings.output)

    def regularization_summary(self, settings: L2Settings) -> dict[str, Any]:
        return {"lambda": settings.lam}


PROBLEM_TYPE = L2ProblemType()


def min_norm_interpolant_problem(data: Dataset, dynamics: NetworkDynamics, output: Output = "identity"):
    """A1's limit (docs/science.md, A1.3): the controls of least L2(0, 1) norm whose flow interpolates
    the data, g(P x_i(1)) = y_i for every point (a terminal equality per member), and its `LearningSymbols`.
    Solutions of A1 on [0, T], rescaled to [0, 1] (u(s) = T u_T(T s)), approach it as T grows when the
    loss can reach 0."""
    s = learning_symbols(data, dynamics, "squared", output)
    problem = ensemble_problem(
        s,
        data,
        1.0,
        running_costs={"norm": ca.sumsqr(s.control)},
        final_constraints=(ocp.Constraint.equal(s.output - s.label),),
    )
    return problem, s
