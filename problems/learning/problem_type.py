"""What every learning problem type shares: data, start, summary and report.

A regularisation module (`l2`, `turnpike`, `l1`) subclasses `LearningProblemType`
and supplies only ``pose`` (its cost terms) and, where it has one, its own
analysis in ``analyse``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ocp
from ocp.errors import ConfigError
from ocp.run.registry import Setup
from ocp.run.settings import RunSettings

from . import plots
from .datasets import Dataset
from .ensemble import Classifier, LearningSymbols, random_controls
from .settings import LearningSettings
from .spacetime import SpaceTimeDynamics
from .sweep_report import sweep_report

LOSS = "loss"  # the name of the terminal (or running) empirical risk term in every module


@dataclass(frozen=True)
class LearningContext:
    train: Dataset
    test: Dataset
    symbols: LearningSymbols
    method: ocp.MultipleShooting
    settings: Any  # the module's settings (its analysis reads them)


class LearningProblemType:
    name: str
    description: str
    settings: type

    def pose(self, train: Dataset, settings: Any, run: RunSettings) -> tuple[ocp.Problem, LearningSymbols]:
        """The module's OCP for the training set (raises ValueError on inconsistent settings)."""
        raise NotImplementedError

    def regularization_summary(self, settings: Any) -> dict[str, Any]:
        """The module's own settings as they go into summary.json."""
        return {}

    def analyse(self, setup: Setup[LearningContext], solution: ocp.Solution, error, out_dir: Path) -> dict[str, Any]:
        """Module-specific fits and figures; ``error`` is E(x(t_k)) on the grid."""
        return {}

    def build(self, settings: LearningSettings, run: RunSettings) -> Setup[LearningContext]:
        train, test = settings.data.load(run.seed)
        try:
            problem, symbols = self.pose(train, settings, run)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        method = run.discretisation()
        guess = ocp.InitialGuess(controls=random_controls(run.K, problem.nu, settings.init_scale, run.seed))
        summary = {
            **self.regularization_summary(settings),
            "N": train.n,
            "n_test": test.n,
            "d": train.dim,
            "dynamics": settings.dynamics.kind,
            "activation": settings.dynamics.activation,
            "loss_kind": settings.loss,
        }
        return Setup(problem, guess, LearningContext(train, test, symbols, method, settings), summary)

    def sweep_report(self, records, axes, out_dir: Path) -> dict[str, Any]:
        """Fits and figures over a sweep's solved points (`sweep_report.py`)."""
        return sweep_report(records, axes, out_dir)

    def report(
        self, setup: Setup[LearningContext], run: RunSettings, solution: ocp.Solution, out_dir: Path
    ) -> dict[str, Any]:
        ctx: LearningContext = setup.context
        clf = Classifier(setup.problem, ctx.method, solution, ctx.symbols, classes=ctx.train.y.ravel())
        error = clf.loss_along_trajectory()
        result = {
            **{name: value for name, value in solution.costs.items()},
            "final_training_error": float(error[-1]),
            "train_accuracy": clf.accuracy(ctx.train),
            "test_accuracy": clf.accuracy(ctx.test),
            "control_norm_max": float(solution.control_norm().max()),
        }
        plots.trajectories(solution.states, ctx.train, out_dir / "trajectories.png")
        plots.control_norm(solution.t, solution.control_norm(), out_dir / "control_norm.png")
        plots.training_error(solution.t, error, out_dir / "training_error.png")
        plots.decision_regions(clf.predict, ctx.train, ctx.test, out_dir / "decision_regions.png")
        network = ctx.settings.dynamics.network(ctx.method.K)
        if isinstance(network, SpaceTimeDynamics):
            plots.space_time(solution.t, solution.states, network.grid_at_node, ctx.train, out_dir / "space_time.png")
        return result | self.analyse(setup, solution, error, out_dir)
