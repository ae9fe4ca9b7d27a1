"""Problem A2, the turnpike (docs/science.md, A):

    min_u  E(x(T)) + beta int_0^T (1/N) sum_i |P x_i(t) - y_i|_p^p dt + lambda ||u||^2_{L2(0,T)}.

The running term is the l^p distance (to the power p) of each point to its
target set P^{-1}(y_i) = {x : P x = y_i}; it is integrated by the integrator's
own quadrature (`ocp.nlp.transcription.step_function`), not a left-endpoint sum.
Claim: the tracking error and ||u(t)|| decay like C exp(-mu t) with mu
independent of T; `analyse` fits mu over the middle of [0, T].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import casadi as ca
import numpy as np

import ocp
from ocp.analysis import exponential
from ocp.errors import ConfigError
from ocp.options import at_least
from ocp.run.registry import Setup
from ocp.run.settings import RunSettings

from . import plots
from .datasets import Dataset
from .ensemble import LearningSymbols, ensemble_problem, learning_symbols
from .losses import Loss, Output
from .networks import NetworkDynamics
from .problem_type import LOSS, LearningContext, LearningProblemType
from .settings import LearningSettings

TRACKING, REGULARIZATION = "tracking", "regularization"
FLOOR = 1e-8  # relative level below which a decaying quantity is numerically zero (IPOPT tol 1e-8)


def distance_to_targets(Px: ca.SX, y: ca.SX, p: float) -> ca.SX:
    """|P x - y|_p^p (exactly quadratic for p = 2)."""
    gap = Px - y
    return ca.sumsqr(gap) if p == 2 else ca.sum1(ca.fabs(gap) ** p)


def turnpike_problem(
    data: Dataset,
    dynamics: NetworkDynamics,
    *,
    T: float,
    lam: float,
    tracking_weight: float = 1.0,
    p: float = 2.0,
    loss: Loss = "squared",
    output: Output = "identity",
) -> tuple[ocp.Problem, LearningSymbols]:
    """The A2 ensemble OCP; lambda and beta (``tracking_weight``) are NLP parameters."""
    if p < 1:
        raise ValueError(f"'p' must be >= 1 (an l^p distance), got {p}")
    s = learning_symbols(data, dynamics, loss, output)
    lam_sym, beta = ca.SX.sym("lambda"), ca.SX.sym("tracking_weight")
    problem = ensemble_problem(
        s,
        data,
        T,
        parameters=(ocp.Parameter(lam_sym, lam, continuation=True), ocp.Parameter(beta, tracking_weight)),
        running_costs={
            TRACKING: beta * distance_to_targets(s.readout, s.label, p),
            REGULARIZATION: lam_sym * ca.sumsqr(s.control),
        },
        terminal_costs={LOSS: s.point_loss},
    )
    return problem, s


def tracking_along_trajectory(states: np.ndarray, y: np.ndarray, p: float, project=None) -> np.ndarray:
    """(1/N) sum_i |P x_i(t_k) - y_i|_p^p on the grid: states (N, K+1, n), labels y (N, m); P the first m
    coordinates, or ``project`` (`LearningSymbols.project`, e.g. a space-time network's readout)."""
    Px = states[:, :, : y.shape[1]] if project is None else project(states)
    gap = Px - y[:, None, :]
    return np.mean(np.sum(np.abs(gap) ** p, axis=2), axis=0)


@dataclass(frozen=True)
class TurnpikeSettings(LearningSettings):
    """Config keys of ``problem: turnpike``."""

    lam: float = field(default=1e-3, metadata={"key": "lambda", "ge": 0.0})
    tracking_weight: float = at_least(0.0, 1.0)
    p: float = at_least(1.0, 2.0)
    output: Literal["identity", "tanh", "sigmoid"] = (
        "identity"  # the target sets P^{-1}(y) are reachable: the turnpike has zero tracking error
    )
    fit_window: tuple[float, float] = (0.2, 0.8)  # fractions of [0, T] for the exponential fits

    def __post_init__(self) -> None:
        if len(self.fit_window) != 2 or not 0.0 <= self.fit_window[0] < self.fit_window[1] <= 1.0:
            raise ConfigError(f"'fit_window' must be two fractions 0 <= a < b <= 1, got {list(self.fit_window)}")


class TurnpikeProblemType(LearningProblemType):
    name = "turnpike"
    description = "A2: terminal loss + running l^p distance to the targets + lambda ||u||^2_L2 (docs/science.md A)"
    settings = TurnpikeSettings

    def pose(self, train: Dataset, settings: TurnpikeSettings, run: RunSettings):
        return turnpike_problem(
            train,
            settings.dynamics.network(run.K),
            T=run.T,
            lam=settings.lam,
            tracking_weight=settings.tracking_weight,
            p=settings.p,
            loss=settings.loss,
            output=settings.output,
        )

    def regularization_summary(self, settings: TurnpikeSettings) -> dict[str, Any]:
        return {"lambda": settings.lam, "tracking_weight": settings.tracking_weight, "p": settings.p}

    def analyse(self, setup: Setup[LearningContext], solution: ocp.Solution, error, out_dir: Path) -> dict[str, Any]:
        settings: TurnpikeSettings = setup.context.settings
        window = settings.fit_window
        ctx = setup.context
        tracking = tracking_along_trajectory(solution.states, ctx.train.y, settings.p, ctx.symbols.project)
        norms = solution.control_norm()
        fits = {  # values 1e-8 below the largest are at the solver's tolerance: left out of the fits
            "tracking": exponential(solution.t, tracking, window, floor=FLOOR * tracking.max()),
            "control_norm": exponential(solution.t[:-1], norms, window, floor=FLOOR * norms.max()),
        }
        plots.turnpike([(solution.T, solution.t, tracking, norms, fits)], out_dir / "turnpike.png")
        return {f"mu_{name}": fit.mu for name, fit in fits.items()} | {
            "turnpike_fits": {name: fit.as_dict() for name, fit in fits.items()},
            "tracking_at_T": float(tracking[-1]),
        }


PROBLEM_TYPE = TurnpikeProblemType()
