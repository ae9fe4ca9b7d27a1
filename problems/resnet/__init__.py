"""Problem C (docs/science.md, C): a deep ResNet trained as a discrete-time OCP.

`model.py` poses it (the ResNet as explicit Euler on K = L intervals), `report.py` writes its metrics and
figures; this module ties them into the problem type `ocp solve` finds through the entry point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ocp
from ocp.errors import ConfigError
from ocp.run.registry import Setup
from ocp.run.settings import RunSettings

from . import report
from .model import ResNetContext, ResNetSettings, ResNetShape, initial_weights, resnet_problem


class ResNetProblemType:
    name = "resnet"
    description = "C: deep ResNet h + (1/L) V sigma(W h) as a discrete OCP, smooth or iid init (docs/science.md C)"
    settings = ResNetSettings

    def build(self, settings: ResNetSettings, run: RunSettings) -> Setup[ResNetContext]:
        if run.integrator != "euler" or run.steps != 1:
            raise ConfigError(
                "'integrator': problem resnet is the ResNet h_{k+1} = h_k + (T/L) V sigma(W h_k), explicit Euler "
                f"with one step per layer; set integrator: euler and steps: 1 (got {run.integrator} x {run.steps})"
            )
        train, test = settings.data.load(run.seed)
        try:
            problem = resnet_problem(train, settings.width, settings.activation, T=run.T, lam=settings.lam)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        shape = ResNetShape(train.dim, settings.width)
        guess = ocp.InitialGuess(controls=initial_weights(settings.init, run.K, shape, run.seed))
        summary = {
            "N": train.n,
            "d": shape.d,
            "width": shape.m,
            "depth": run.K,
            "activation": settings.activation,
            "init": settings.init,
            "lambda": settings.lam,
        }
        return Setup(problem, guess, ResNetContext(train, test, shape, run.discretisation(), settings), summary)

    def report(
        self, setup: Setup[ResNetContext], run: RunSettings, solution: ocp.Solution, out_dir: Path
    ) -> dict[str, Any]:
        return report.report(setup, run, solution, out_dir)

    def sweep_report(self, records, axes, out_dir: Path) -> dict[str, Any]:
        return report.sweep_report(records, axes, out_dir)


PROBLEM_TYPE = ResNetProblemType()
