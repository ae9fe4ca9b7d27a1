"""The first-order start: L-BFGS-B on the condensed objective, whose result seeds IPOPT.

From a small random start, IPOPT on the multiple-shooting NLP often stops at a
poor KKT point: on the shared benchmark instance (annulus, N = 400) it returns
0.359 where a quasi-Newton method on the same discretised cost finds 0.036.
Each IPOPT iteration also factorises a KKT matrix whose cost grows like
N K (nu K)^2. A short L-BFGS-B phase on the condensed objective f(U) (states
eliminated by forward simulation, gradient by CasADi's reverse mode through
the mapped step) costs a few forward simulations per iteration and moves into
a better basin; IPOPT then needs only a few iterations from there to reach a
KKT point of the full NLP to its tolerance. Numbers: `benchmarks/README.md`.

The phase applies when the condensed problem has box constraints only: no
path, initial or final constraints, and no finite state bounds after node 0
(bounds on controls, free parameters, a free T and X_0 are boxes L-BFGS-B
keeps). Otherwise it is skipped and the solution says why.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import ClassVar

import casadi as ca
import numpy as np
import scipy.optimize

from ocp.nlp.layout import Layout
from ocp.nlp.transcription import transcribe
from ocp.options import check_fields, positive
from ocp.problem.method import MultipleShooting
from ocp.problem.problem import Problem
from ocp.solvers.applicability import condensed_obstacle
from ocp.solvers.records import FirstOrderReport


def inapplicable_reason(problem: Problem) -> str:
    """Why the phase cannot run on ``problem`` ('' when it can; `applicability.py`)."""
    return condensed_obstacle(problem, "L-BFGS-B", any_l1_cost=True, free_horizon=False)


log = logging.getLogger("ocp")  # the verbose iteration lines (`logs.py`)


class FirstOrderPhase:
    """The condensed objective of a problem with its gradient, built once, and L-BFGS-B on it."""

    def __init__(self, problem: Problem, method: MultipleShooting, full_layout: Layout, expand: bool = False):
        self.skipped = inapplicable_reason(problem)
        if self.skipped:
            return
        nlp = transcribe(problem, method.condensed())
        self.condensed = nlp  # also used by the optimality check (`optimality.py`)
        fg = ca.Function("condensed_cost", [nlp.w, nlp.p], [nlp.f, ca.gradient(nlp.f, nlp.w)])
        self._cost_and_gradient = fg.expand() if expand else fg
        # Position in the full (multiple-shooting) w of each condensed variable.
        cond = nlp.layout
        self.full_index = np.empty(cond.size, dtype=int)
        self.full_index[cond.free_parameters] = full_layout.free_parameters
        self.full_index[cond.horizon] = full_layout.horizon
        exists = cond.states[0] >= 0  # entries that exist (all but under `Problem.interval_sizes`)
        self.full_index[cond.states[0][exists]] = full_layout.states[0][exists]
        self.full_index[cond.controls[cond.controls >= 0]] = full_layout.controls[full_layout.controls >= 0]

    def gradient_at(self, w: np.ndarray, p: np.ndarray) -> np.ndarray:
        """The condensed objective's gradient at the full (multiple-shooting) point ``w``, as a vector of the
        condensed variables (`condensed.layout`): its states after X_0 are simulated, not read from ``w``."""
        _, gradient = self._cost_and_gradient(w[self.full_index], p)
        return np.asarray(gradient).ravel()

    def run(
        self,
        w0: np.ndarray,
        lbx: np.ndarray,
        ubx: np.ndarray,
        p: np.ndarray,
        max_iter: int,
        verbose: bool = False,
        descent: Descent | None = None,
    ) -> tuple[np.ndarray, FirstOrderReport]:
        """Improve the non-state part of the full start ``w0`` with at most ``max_iter`` iterations of
        ``descent`` (default `LBFGS`); returns the new full w and a report. The states in the returned w
        are those of ``w0``: the caller simulates them again from the new controls.
        """
        descent = descent or LBFGS()
        if not isinstance(descent, (LBFGS, Adam)):
            raise TypeError(f"descent must be ocp.solvers.first_order.LBFGS() or Adam(...), got {descent!r}")
        if self.skipped:
            return w0, FirstOrderReport(skipped=self.skipped)
        idx = self.full_index
        start = time.perf_counter()
        evaluations = 0
        # Fixed entries (X_0, lb == ub) stay out of L-BFGS-B's vector: kept in, they change its iterates.
        z = np.clip(w0[idx], lbx[idx], ubx[idx])
        moving = lbx[idx] < ubx[idx]

        def cost_and_gradient(z_moving: np.ndarray) -> tuple[float, np.ndarray]:
            nonlocal evaluations
            evaluations += 1
            z[moving] = z_moving
            f, g = self._cost_and_gradient(z, p)
            f = float(f)
            # L-BFGS-B's line search backs off from a non-finite value like from a large one.
            return (f, np.asarray(g).ravel()[moving]) if np.isfinite(f) else (np.inf, np.zeros(z_moving.size))

        z0 = z[moving].copy()
        f0, _ = cost_and_gradient(z0)
        if not np.isfinite(f0):
            return w0, FirstOrderReport(skipped="the objective is not finite at the start")

        # scipy passes an OptimizeResult only to a callback whose parameter has exactly this name
        def progress(intermediate_result: scipy.optimize.OptimizeResult) -> None:
            log.info(f"  {descent.name} {progress.count:4d}  objective {intermediate_result.fun:.8e}")
            progress.count += 1

        progress.count = 1
        lower, upper = lbx[idx][moving], ubx[idx][moving]
        result = descent.minimize(cost_and_gradient, z0, lower, upper, max_iter, progress if verbose else None)
        w = w0.copy()
        better = np.isfinite(result.fun) and result.fun < f0
        if better:
            w[idx[moving]] = result.x
        report = FirstOrderReport(
            iterations=int(result.nit),
            evaluations=evaluations,
            method=descent.name,
            time_s=time.perf_counter() - start,
            objective_start=f0,
            objective_end=float(result.fun) if better else f0,
            message=str(result.message),
        )
        return w, report


@dataclass(frozen=True)
class LBFGS:
    """L-BFGS-B (scipy) on the condensed objective, within the bounds: the default first-order start."""

    name: ClassVar[str] = "L-BFGS-B"

    def minimize(self, cost_and_gradient, z0, lower, upper, iterations, callback) -> scipy.optimize.OptimizeResult:
        return scipy.optimize.minimize(
            cost_and_gradient,
            z0,
            jac=True,
            method="L-BFGS-B",
            bounds=list(zip(lower, upper, strict=True)),
            callback=callback,
            # maxcor 20: fewer iterations than the default 10 on the learning problems at no visible cost.
            options={"maxiter": iterations, "maxcor": 20, "ftol": 1e-14, "gtol": 1e-10},
        )


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma and Ba, default moments 0.9 / 0.999) with steps of ``learning_rate``, projected on the
    bounds; the last finite iterate.

    Why a momentum method at all: L-BFGS-B descends into the nearest basin,
    while Adam's normalised, momentum-carried steps cross small barriers early
    on; on annulus N = 400 seed 1 (`benchmarks/strategies.py`) 300 Adam steps
    then IPOPT found 0.02351 where L-BFGS-B then IPOPT found 0.02405.
    """

    learning_rate: float = positive(1e-2)
    name: ClassVar[str] = "Adam"

    def __post_init__(self) -> None:
        check_fields(self, "Adam")

    def minimize(self, cost_and_gradient, z0, lower, upper, iterations, callback) -> scipy.optimize.OptimizeResult:
        return _adam(cost_and_gradient, z0, lower, upper, iterations, self.learning_rate, callback)


Descent = LBFGS | Adam  # the first-order phase's algorithms


def _adam(cost_and_gradient, z0, lower, upper, iterations, learning_rate, callback) -> scipy.optimize.OptimizeResult:
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    z, m, v = z0.copy(), np.zeros_like(z0), np.zeros_like(z0)
    f, g = cost_and_gradient(z)
    last_finite, steps, message = (z, f), 0, f"{iterations} Adam steps"
    while steps < iterations:
        steps += 1
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        step = learning_rate * (m / (1 - beta1**steps)) / (np.sqrt(v / (1 - beta2**steps)) + eps)
        z = np.clip(z - step, lower, upper)
        f, g = cost_and_gradient(z)
        if not np.isfinite(f):  # a step too long for the dynamics: keep the last finite iterate
            message = f"stopped at step {steps}: the objective is not finite there"
            break
        last_finite = (z, f)
        if callback is not None:
            callback(scipy.optimize.OptimizeResult(fun=f))
    return scipy.optimize.OptimizeResult(x=last_finite[0], fun=last_finite[1], nit=steps, message=message)
