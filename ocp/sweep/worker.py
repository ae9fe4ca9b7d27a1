"""Solving one sweep point where a worker runs it (a local process, a Dask worker, or in-process).

A worker receives a config mapping (never a CasADi object), builds the
problem, and keeps one `OCPSolver` per build key (`ocp/nlp/fingerprint.py`) for
as long as the process lives: the points of a sweep over T or lambda share
one build. A chain's first point is solved with the config's own pipeline
(strategy or multi-start); the next ones are warm-started from their
predecessor's solution (primal and multipliers), which the runner sends back
with the task; where the config runs a search (more than one local search),
every point runs it, with the neighbour's solution as its first local
search (`multistart`'s ``warm``), so that a chain does not follow one
branch of local minima. A warm-started single solve that runs longer than ``warm_limit_s``
(patience x the chain's cold solve; warm starts from a neighbour that is too
far away can send IPOPT into long runs of inertia corrections, measured on
the turnpike) is stopped and the point is solved cold instead; the record
says so (``warm_given_up``).
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ocp.dispatch import WORKER_SOLVERS
from ocp.logs import collected
from ocp.nlp.fingerprint import build_key
from ocp.processes import interrupt_requested
from ocp.run.solve import SOLVERS, is_single_solve, parse_config, solve_run
from ocp.solvers.ipopt import OCPSolver
from ocp.solvers.solution import Solution
from ocp.solvers.status import Status

log = logging.getLogger("ocp.sweep")  # collected into the point's log (`logs.py`)


@dataclass(frozen=True)
class PointTask:
    point_id: str
    config: dict[str, Any]
    warm_from: Solution | None = None  # the chain predecessor's solution; None: the config's own start
    single_process: bool = False  # multi-starts solve in this process (the sweep already fills the cores)
    warm_limit_s: float = float("inf")  # a warm solve running longer is given up for a cold one


@dataclass(frozen=True)
class Outcome:
    point_id: str
    solution: Solution | None
    status: Status  # the solve's, or ERROR when no solution came back, NON_FINITE
    message: str
    warm: bool
    built: bool  # this task built an NLP (first use of its build key in this worker)
    wall_s: float
    log: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)  # the problem type's report fields
    files: dict[str, bytes] = field(default_factory=dict)  # and its figures, written by the runner


def solve_point(task: PointTask) -> Outcome:
    """Solve one point; every failure becomes an Outcome with a message, never an exception."""
    begin = time.perf_counter()
    built, warm = False, task.warm_from is not None
    extra: dict[str, Any] = {}
    try:
        with collected() as buffer:
            run, settings, ptype = parse_config(task.config)
            if task.single_process:
                run = replace(run, multistart=replace(run.multistart, workers=1, executor="local", scheduler=None))
            setup = ptype.build(settings, run)
            run, problem = setup.run or run, setup.problem
            if not SOLVERS[run.solver.name].reuses_builds:  # the gradient flow trains from the config's start
                solution = solve_run(run, setup)
                return _finished(
                    task, ptype, setup, run, solution, warm=False, built=True, extra=extra, begin=begin, log=buffer
                )
            key = build_key(problem, run.discretisation(), run.solver.options())
            parameters = {p.name: p.value for p in problem.parameters}
            # this process's builds (`ocp.dispatch.WORKER_SOLVERS`): the points of a chain share one
            solver, built = WORKER_SOLVERS.get(
                key,
                lambda stop_when: OCPSolver(problem, run.discretisation(), run.solver.options(), stop_when=stop_when),
            )
            solution = None
            if warm and not is_single_solve(run, problem):
                # the config's search at every point, the neighbour's solution its first local search
                solution = solve_run(run, setup, solver, warm=task.warm_from)
                built = True  # a multi-start builds in its own workers
            elif warm:
                same_nlp = solver.warm_starts_from(task.warm_from)
                with WORKER_SOLVERS.deadline.running(task.warm_limit_s):
                    solution = solver.solve(
                        T=run.T,
                        parameters=parameters,
                        initial_guess=task.warm_from,
                        first_order_iterations=None if same_nlp else 0,
                    )
                if interrupt_requested():  # Ctrl-C, not the deadline: the point stays unsolved, to resume
                    raise KeyboardInterrupt
                if solution.status == Status.USER_REQUESTED_STOP:
                    log.info(f"warm start given up after {solution.solve_time_s:.1f} s; solving cold")
                    extra["warm_given_up"] = solution.solve_time_s
                    solution, warm = None, False
            if solution is None:
                solution = solve_run(run, setup, solver)  # the config's own strategy or multi-start
                built = built or not is_single_solve(run, problem)  # a multi-start builds in its own workers
    except Exception as err:  # a point's failure is recorded; the sweep goes on
        message = f"{type(err).__name__}: {err}"
        text = buffer.getvalue() + traceback.format_exc()
        return Outcome(task.point_id, None, Status.ERROR, message, warm, built, time.perf_counter() - begin, text)
    return _finished(task, ptype, setup, run, solution, warm, built, extra, begin, buffer)


def _finished(task: PointTask, ptype, setup, run, solution: Solution, warm, built, extra, begin, log) -> Outcome:
    status, message = solution.status, solution.message
    if not math.isfinite(solution.objective):
        status, message = Status.NON_FINITE, f"the objective is not finite ({solution.objective})"
    report, files = _report(ptype, setup, run, solution, extra)
    wall = time.perf_counter() - begin
    return Outcome(task.point_id, solution, status, message, warm, built, wall, log.getvalue(), extra, report, files)


def _report(ptype, setup, run, solution: Solution, extra: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The problem type's report, drawn here so that figures are drawn in parallel; its files travel
    back as bytes (a Dask worker need not share the sweep's disk). A failing report costs nothing else."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            fields = ptype.report(setup, run, solution, Path(tmp))
        except Exception as err:
            extra["report_error"] = f"{type(err).__name__}: {err}"
            return {}, {}
        files = {p.name: p.read_bytes() for p in Path(tmp).iterdir() if p.is_file()}
    return fields, files
