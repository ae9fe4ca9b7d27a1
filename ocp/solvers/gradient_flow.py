"""Gradient flow: full-batch gradient descent on a problem's discretised cost, the second solver.

The cost J(U) of the condensed transcription (states eliminated by forward
simulation, `transcription.py`) is minimised by explicit steps

    U_k <- U_k - eta / h_k * dJ/dU_k        (step_scaling "interval", the default)

Why 1/h_k: with piecewise-constant controls dJ/dU_k = h_k (dJ/du)(t_k) + O(h^2),
so the step is that of the gradient flow of u in L2(0, T) and eta means the
same on every grid. For a ResNet of depth L on T = 1 it is the learning rate
scaled by L of Marion et al. (docs/science.md, C). ``step_scaling: none`` is plain
gradient descent on U. Free parameters take plain steps.

The gradient is one CasADi function (reverse mode through the batched step),
built once. ``clip`` caps the Euclidean norm of each step; control bounds are
kept by projection. L1 costs enter as sums of |e| (their subgradient sign(e)),
so gradient descent gives no exact zeros; IPOPT's slack form does. Problems
with constraints other than boxes, or a free final time, are refused.

The run records the objective at every iteration, the cost terms and the
controls every ``record_every`` iterations (the solution's ``training`` and
``snapshots``), and stops after ``iterations`` steps, when the step norm
falls below ``tol``, or when the cost is no longer finite (status Diverged:
the last finite iterate is returned).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import casadi as ca
import numpy as np

from ocp.errors import ProblemError
from ocp.nlp.layout import put, take
from ocp.nlp.simulation import parameter_values, parameter_vector, simulate
from ocp.nlp.transcription import transcribe
from ocp.options import at_least, check_fields, internal, positive
from ocp.problem.guess import InitialGuess, interpolate
from ocp.problem.method import MultipleShooting
from ocp.problem.problem import Problem
from ocp.solvers.applicability import condensed_obstacle
from ocp.solvers.ipopt import box_bounds, nlp_parameters
from ocp.solvers.records import OptimalityReport, TrainingRecord
from ocp.solvers.solution import Solution
from ocp.solvers.status import Status

StepScaling = Literal["interval", "none"]


@dataclass(frozen=True)
class GradientFlowOptions:
    """Step size ``learning_rate`` (see the module docstring for its units), ``iterations`` steps at most,
    ``clip`` the largest step norm (None: no clipping), ``record_every`` iterations between recorded
    controls (0: only the first and last), ``tol`` the step norm that counts as converged."""

    learning_rate: float = positive(0.1)
    iterations: int = at_least(0, 1000)
    step_scaling: StepScaling = "interval"
    clip: float | None = positive(None)
    record_every: int = at_least(0, 10)
    tol: float = at_least(0.0, 0.0)
    verbose: bool = internal(False)  # the CLI's --verbose and solver.verbose set it

    def __post_init__(self) -> None:
        check_fields(self, "gradient_flow")


log = logging.getLogger("ocp")  # the verbose iteration lines (`logs.py`)


def inapplicable_reason(problem: Problem) -> str:
    """Why gradient descent cannot run on ``problem`` ('' when it can; `applicability.py`)."""
    return condensed_obstacle(problem, "gradient descent", any_l1_cost=False, free_horizon=True)


class GradientFlow:
    """The condensed cost of ``problem`` and its gradient, built once; ``solve`` runs gradient descent
    (the `Solver` contract of `contract.py`)."""

    def __init__(
        self, problem: Problem, method: MultipleShooting | None = None, options: GradientFlowOptions | None = None
    ):
        reason = inapplicable_reason(problem)
        if reason:
            raise ProblemError(f"solver gradient_flow cannot solve this problem: {reason}")
        start = time.perf_counter()
        self.problem = problem
        self.method = method or MultipleShooting()
        self.options = options or GradientFlowOptions()
        nlp = transcribe(problem, self.method.condensed(l1="abs"))
        self.nlp = nlp
        self._cost = ca.Function("gf_cost", [nlp.w, nlp.p], [nlp.f, ca.gradient(nlp.f, nlp.w)])
        self._terms = ca.Function("gf_terms", [nlp.w, nlp.p], [nlp.terms])
        self.build_time_s = time.perf_counter() - start

    def _initial_states(self, initial_state) -> np.ndarray:
        x0 = self.problem.initial_states(initial_state)
        if x0 is None:
            raise ProblemError("gradient_flow needs fixed initial states (the problem's or initial_state=)")
        return x0

    def solve(
        self,
        *,
        parameters: Mapping[str, Any] | None = None,
        T: float | None = None,
        initial_guess: InitialGuess | Solution | None = None,
        initial_state: np.ndarray | None = None,
        data: np.ndarray | None = None,
        callback: Callable[[int, float], None] | None = None,
    ) -> Solution:
        """Gradient descent from ``initial_guess``; ``callback(iteration, objective)`` after each step."""
        problem, layout, K, opts = self.problem, self.nlp.layout, self.method.K, self.options
        parameters = dict(parameters or {})
        p = nlp_parameters(problem, parameters, T, data)
        T_value = float(p[problem.fixed_parameter_size()])
        x0 = self._initial_states(initial_state)
        if isinstance(initial_guess, Solution):
            initial_guess = interpolate(initial_guess, self.method.normalised_grid())
        guess = initial_guess or InitialGuess()
        w = np.zeros(layout.size)
        free_values = {**{q.name: q.guess for q in problem.free_parameters}, **dict(guess.free_parameters)}
        w[layout.free_parameters] = parameter_vector(problem, {**parameters, **free_values}, which="free")
        put(w, layout.states[0], x0)
        put(w, layout.controls, guess.controls_array(K, problem.nu, problem.control_guess))
        # Boxes only: free T and finite state bounds were refused, so X_0 is fixed and the rest free.
        lower, upper = box_bounds(problem, layout, x0)
        w = np.clip(w, lower, upper)

        # Per-variable step factor: eta / h_k on the controls of interval k, eta elsewhere; 0 on X_0.
        scale = np.full(layout.size, opts.learning_rate)
        if opts.step_scaling == "interval":
            h = T_value * np.diff(self.method.normalised_grid())
            put(scale, layout.controls, opts.learning_rate / h[:, None])
        put(scale, layout.states[0], 0.0)

        begin = time.perf_counter()
        f, g = self._evaluate(w, p)
        if not np.isfinite(f):
            raise ProblemError("gradient_flow: the cost is not finite at the start")
        objective, recorded, snapshots, terms = [f], [], [], []

        def record(step: int) -> None:
            recorded.append(step)
            snapshots.append(take(w, layout.controls))
            terms.append(self._term_values(w, p))

        record(0)
        status, steps = Status.ITERATIONS_DONE, 0
        for steps in range(1, opts.iterations + 1):
            step = scale * g
            norm = float(np.linalg.norm(step))
            if opts.clip is not None and norm > opts.clip:
                step *= opts.clip / norm
            candidate = np.clip(w - step, lower, upper)
            f_new, g_new = self._evaluate(candidate, p)
            if not np.isfinite(f_new):
                status, steps = Status.DIVERGED, steps - 1
                break
            w, f, g = candidate, f_new, g_new
            objective.append(f)
            if callback is not None:
                callback(steps, f)
            if opts.verbose and (steps % max(1, opts.record_every) == 0 or steps == opts.iterations):
                log.info(f"  gradient_flow {steps:6d}  objective {f:.8e}  step {norm:.3e}")
            if opts.record_every and steps % opts.record_every == 0:
                record(steps)
            if norm < opts.tol:
                status = Status.GRADIENT_BELOW_TOLERANCE
                break
        if recorded[-1] != steps:
            record(steps)
        solve_time = time.perf_counter() - begin
        return self._solution(
            w, p, T_value, x0, parameters, data, status, steps, solve_time, objective, recorded, snapshots, terms
        )

    def _evaluate(self, w: np.ndarray, p: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = self._cost(w, p)
        return float(f), np.asarray(g).ravel()

    def _term_values(self, w: np.ndarray, p: np.ndarray) -> list[float]:
        return np.asarray(self._terms(w, p)).ravel().tolist()

    def _solution(
        self, w, p, T, x0, parameters, data, status, steps, solve_time, objective, recorded, snapshots, terms
    ) -> Solution:
        problem, layout = self.problem, self.nlp.layout
        free = parameter_values(problem, w[layout.free_parameters], which="free")
        fixed = parameter_values(problem, p, which="fixed")
        controls = take(w, layout.controls)
        states = simulate(
            problem,
            self.method,
            controls,
            initial_states=x0,
            T=T,
            parameters={**parameters, **free},
            data=data,
            step=self.nlp.step,
        )
        names = self.nlp.term_names
        training = TrainingRecord(
            solver="gradient_flow",
            learning_rate=self.options.learning_rate,
            step_scaling=self.options.step_scaling,
            clip=self.options.clip,
            objective=objective,
            recorded_iterations=recorded,
            recorded_costs=[dict(zip(names, values, strict=True)) for values in terms],
        )
        return Solution(
            t=T * self.method.normalised_grid(),
            states=states,
            controls=controls,
            T=T,
            costs=dict(zip(names, terms[-1], strict=True)),
            objective=objective[-1],
            constraint_violation=0.0,
            status=status,
            message=status.message,
            success=status.success,
            iterations=steps,
            build_time_s=self.build_time_s,
            solve_time_s=solve_time,
            free_parameters=free,
            parameters=fixed,
            optimality=OptimalityReport(skipped="gradient flow: its endpoint is not a KKT point to check"),
            training=training,
            snapshots=np.stack(snapshots),
        )
