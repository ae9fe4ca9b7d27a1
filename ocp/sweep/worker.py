"""Solving one sweep point where a worker runs it (a local process, a Dask worker, or in-process).

A worker receives a config mapping (never a CasADi object), builds the
problem, and keeps one `OCPSolver` per build key (`ocp/fingerprint.py`) for
as long as the process lives: the points of a sweep over T or lambda share
one build. A chain's first point is solved with the config's own pipeline
(strategy or multi-start); the next ones are warm-started from their
predecessor's solution (primal and multipliers), which the runner sends back
with the task.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Any

from ..fingerprint import build_key
from ..run import parse_config, solve_run
from ..solution import Solution
from ..solver import OCPSolver
from ..strategies import solve_with

_SOLVERS: dict[str, OCPSolver] = {}  # this process's builds, by build key


@dataclass(frozen=True)
class Task:
    point_id: str
    config: dict[str, Any]
    warm_from: Solution | None = None  # the chain predecessor's solution; None: the config's own start
    single_process: bool = False  # multi-starts solve in this process (the sweep already fills the cores)


@dataclass(frozen=True)
class Outcome:
    point_id: str
    solution: Solution | None
    status: str  # IPOPT's status, or "error" when no solution came back
    message: str
    warm: bool
    built: bool  # this task built an NLP (first use of its build key in this worker)
    wall_s: float
    log: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def solve_point(task: Task) -> Outcome:
    """Solve one point; every failure becomes an Outcome with a message, never an exception."""
    begin = time.perf_counter()
    buffer = io.StringIO()
    built, warm = False, task.warm_from is not None
    try:
        with contextlib.redirect_stdout(buffer):
            run, settings, ptype = parse_config(task.config)
            if task.single_process:
                run = replace(run, multistart=replace(run.multistart, workers=1))
            setup = ptype.build(settings, run)
            problem = setup.problem
            key = build_key(problem, run.method(), run.solver.options())
            parameters = {p.name: p.value for p in problem.parameters}
            if key not in _SOLVERS:
                _SOLVERS[key] = OCPSolver(problem, run.method(), run.solver.options())
                built = True
            solver = _SOLVERS[key]
            if warm:
                same_shape = task.warm_from.primal.size == solver.nlp.layout.size
                solution = solver.solve(
                    T=run.T,
                    parameters=parameters,
                    initial_guess=task.warm_from,
                    first_order_iterations=None if same_shape else 0,
                )
            elif run.multistart.starts == 1 and len(run.initializations()) == 1:
                init = run.initializations()[0]
                solution = solve_with(solver, init, T=run.T, parameters=parameters, initial_guess=setup.initial_guess)
            else:
                solution = solve_run(run, setup)  # the multi-start builds in its own workers
                built = True
    except Exception as err:  # a point's failure is recorded; the sweep goes on
        message = f"{type(err).__name__}: {err}"
        log = buffer.getvalue() + traceback.format_exc()
        return Outcome(task.point_id, None, "error", message, warm, built, time.perf_counter() - begin, log)
    status, message = solution.status, solution.message
    if not math.isfinite(solution.objective):
        status, message = "non_finite", f"the objective is not finite ({solution.objective})"
    return Outcome(
        task.point_id, solution, status, message, warm, built, time.perf_counter() - begin, buffer.getvalue()
    )
