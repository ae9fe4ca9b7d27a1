"""Problem A1 (SCIENCE.md, A): min_u E(x(T)) + lambda ||u||^2_{L2(0,T)}.

E(x(T)) = (1/N) sum_i loss(g(P x_i(T)), y_i); lambda is a fixed NLP parameter,
so a new lambda (or T) re-solves without rebuilding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import casadi as ca

import ocp
from ocp.config import at_least
from ocp.errors import ConfigError
from ocp.registry import Setup
from ocp.settings import RunSettings

from . import plots
from .datasets import Dataset
from .learning import Classifier, learning_symbols, random_controls
from .losses import Loss, Output
from .networks import NetworkDynamics
from .settings import LearningSettings

LOSS, REGULARIZATION = "loss", "regularization"


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
    problem = ocp.Problem(
        state=s.state,
        control=s.control,
        dynamics=s.dynamics,
        horizon=ocp.Horizon.fixed(T),
        parameters=(ocp.Parameter(lam_sym, lam),),
        running_costs={REGULARIZATION: lam_sym * ca.sumsqr(s.control)},
        terminal_costs={LOSS: s.point_loss},
        initial_state=data.x,
        ensemble_data=ocp.EnsembleData(s.label, data.y),
        aggregate="mean",
    )
    return problem, s


@dataclass(frozen=True)
class L2Settings(LearningSettings):
    """Config keys of ``problem: l2`` (beside the common ones of `RunSettings`)."""

    lam: float = field(default=1e-3, metadata={"key": "lambda", "ge": 0.0})
    init_scale: float = at_least(0.0, 0.3)


@dataclass(frozen=True)
class Context:
    train: Dataset
    test: Dataset
    symbols: Any
    method: ocp.MultipleShooting


class L2ProblemType:
    name = "l2"
    description = "A1: terminal loss + lambda ||u||^2_L2 (neural ODE classifier, SCIENCE.md A)"
    settings = L2Settings

    def build(self, settings: L2Settings, run: RunSettings) -> Setup:
        train, test = settings.data.load(run.seed)
        try:
            problem, symbols = l2_problem(
                train,
                settings.dynamics.network(),
                T=run.T,
                lam=settings.lam,
                loss=settings.loss,
                output=settings.output,
            )
        except ValueError as err:
            raise ConfigError(str(err)) from None
        method = run.method()
        guess = ocp.InitialGuess(controls=random_controls(run.K, problem.nu, settings.init_scale, run.seed))
        summary = {
            "lambda": settings.lam,
            "N": train.n,
            "n_test": test.n,
            "d": train.dim,
            "dynamics": settings.dynamics.kind,
            "activation": settings.dynamics.activation,
            "loss_kind": settings.loss,
        }
        return Setup(problem, guess, Context(train, test, symbols, method), summary)

    def report(self, setup: Setup, run: RunSettings, solution: ocp.Solution, out_dir: Path) -> dict[str, Any]:
        ctx: Context = setup.context
        clf = Classifier(setup.problem, ctx.method, solution, ctx.symbols, classes=ctx.train.y.ravel())
        error = clf.loss_along_trajectory()
        result = {
            "loss": solution.costs[LOSS],
            "regularization": solution.costs[REGULARIZATION],
            "train_accuracy": clf.accuracy(ctx.train),
            "test_accuracy": clf.accuracy(ctx.test),
            "control_norm_max": float(solution.control_norm().max()),
        }
        plots.trajectories(solution.states, ctx.train, out_dir / "trajectories.png")
        plots.control_norm(solution.t, solution.control_norm(), out_dir / "control_norm.png")
        plots.training_error(solution.t, error, out_dir / "training_error.png")
        plots.decision_regions(clf.predict, ctx.train, ctx.test, out_dir / "decision_regions.png")
        return result


PROBLEM_TYPE = L2ProblemType()
