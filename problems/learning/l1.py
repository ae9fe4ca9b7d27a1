"""Problem B, L1 sparsity (docs/science.md, B):

    min_u  int_0^T E(x(t)) dt + lambda ||u||_{L1(0,T)},   optionally ||u(t)||_1 <= M.

The L1 term is an `ocp.L1Cost`: solved exactly through slacks, so the optimal
controls have exact zeros (to IPOPT's tolerance) rather than small values.
The running risk E(x(t)) is integrated by the integrator's own quadrature.
How exact the zeros are: an interior-point method keeps each slack
constraint a distance ~ mu / multiplier from active, and the multiplier of a
zero control is about lambda h / 2, so |u| ~ mu / (lambda h) there. Measured
on configs/annulus_l1.yaml (lambda = 1e-2, h = 0.25 at K = 40): |u| ~ 1e-5 at IPOPT's
tol = 1e-8 and ~ 1e-8 at tol = 1e-10, against O(1) controls where they act;
the shipped config sets tol = 1e-10.

Claim: minimisers stop acting at a time T* < T (a shallower network
suffices); `analyse` reports T*, the first grid time after which ||u(t)||
stays below ``stop_tolerance``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import casadi as ca
import numpy as np

import ocp
from ocp.analysis import stopping_time
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

REGULARIZATION = "regularization"
# |sigma| within this fraction of lambda counts as on the band's edge (an acting control): IPOPT's tolerance
BAND_TOLERANCE = 1e-4


def l1_problem(
    data: Dataset,
    dynamics: NetworkDynamics,
    *,
    T: float,
    lam: float,
    bound: float | None = None,
    loss: Loss = "squared",
    output: Output = "identity",
) -> tuple[ocp.Problem, LearningSymbols]:
    """The B ensemble OCP: running risk ``loss`` and ``regularization`` = lambda int ||u||_1 (lambda a parameter)."""
    s = learning_symbols(data, dynamics, loss, output)
    lam_sym = ca.SX.sym("lambda")
    problem = ensemble_problem(
        s,
        data,
        T,
        parameters=(ocp.Parameter(lam_sym, lam, continuation=True),),
        running_costs={LOSS: s.point_loss},
        l1_costs={REGULARIZATION: ocp.L1Cost(s.control, weight=lam_sym, bound=bound)},
    )
    return problem, s


@dataclass(frozen=True)
class L1Settings(LearningSettings):
    """Config keys of ``problem: l1``."""

    lam: float = field(default=1e-2, metadata={"key": "lambda", "ge": 0.0})
    bound: float | None = at_least(0.0, None)  # M in ||u(t)||_1 <= M; none by default
    output: Literal["identity", "tanh", "sigmoid"] = "identity"  # E can reach 0, so the control can stop
    stop_tolerance: float = field(default=1e-6, metadata={"gt": 0.0})  # ||u|| below this counts as zero


class L1ProblemType(LearningProblemType):
    name = "l1"
    description = "B: running loss + lambda ||u||_L1, exact zeros and the stopping time T* (docs/science.md B)"
    settings = L1Settings

    def pose(self, train: Dataset, settings: L1Settings, run: RunSettings):
        return l1_problem(
            train,
            settings.dynamics.network(run.K),
            T=run.T,
            lam=settings.lam,
            bound=settings.bound,
            loss=settings.loss,
            output=settings.output,
        )

    def regularization_summary(self, settings: L1Settings) -> dict[str, Any]:
        return {"lambda": settings.lam, "bound": settings.bound}

    def analyse(self, setup: Setup[LearningContext], solution: ocp.Solution, error, out_dir: Path) -> dict[str, Any]:
        settings: L1Settings = setup.context.settings
        norms = solution.control_norm()
        T_star = stopping_time(solution.t[:-1], norms, settings.stop_tolerance)
        plots.stopping_times([(solution.T, solution.t, norms, T_star)], out_dir / "stopping_time.png")
        zero = norms <= settings.stop_tolerance
        result = {"stopping_time": T_star, "zero_intervals": int(zero.sum()), "stop_tolerance": settings.stop_tolerance}
        if T_star is not None:  # the training error reached by the time the controls stop (a node time)
            result["error_at_stopping_time"] = float(np.asarray(error)[np.searchsorted(solution.t, T_star - 1e-12)])
        switching = solution.maximum_principle.switching
        if switching is not None:  # the maximum principle's account of T* (`ocp/solvers/maximum_principle.py`)
            sigma = np.asarray(switching, dtype=float)
            on_band = np.max(np.abs(sigma), axis=1) >= settings.lam * (1.0 - BAND_TOLERANCE)
            T_band = float(solution.t[np.flatnonzero(on_band)[-1] + 1]) if on_band.any() else float(solution.t[0])
            plots.switching_function(
                solution.t, sigma, settings.lam, T_star, T_band, out_dir / "switching_function.png"
            )
            inside = np.max(np.abs(sigma[zero]), initial=0.0) / settings.lam  # <= 1 where u = 0
            result |= {"switching_stopping_time": T_band, "switching_max_where_zero": float(inside)}
        return result


PROBLEM_TYPE = L1ProblemType()
