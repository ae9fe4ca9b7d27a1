"""Running one config: validate it, then solve it with its strategy or multi-start.

Shared by the CLI (`cli.py`), the sweep runner (`sweep/`) and scripts such as
``problems/learning/reproduce.py``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, get_args

from ocp.errors import ConfigError, Interrupted
from ocp.processes import sigint_flag
from ocp.progress import Progress
from ocp.run import registry
from ocp.run.config import keys, load_yaml, parse
from ocp.run.settings import RunSettings, SolverName
from ocp.search.coverage import in_words
from ocp.search.multistart import multistart
from ocp.search.settings import SearchSettings
from ocp.search.strategies import effective_strategies, first_start_strategies, solve_with
from ocp.search.tasks import Role
from ocp.solvers.gauss_newton import GaussNewton
from ocp.solvers.gradient_flow import GradientFlow
from ocp.solvers.ipopt import OCPSolver
from ocp.solvers.solution import Solution
from ocp.solvers.status import Status

log = logging.getLogger("ocp")  # shown by the CLI (`logs.py`)


def read_config(path: str) -> tuple[RunSettings, Any, registry.ProblemType]:
    """Validate the whole config file before anything is built or written."""
    return parse_config(load_yaml(path))


def parse_config(data: dict[str, Any]) -> tuple[RunSettings, Any, registry.ProblemType]:
    """Validate a config mapping: the run settings, the problem type and its own settings."""
    if "sweep" in data or "base" in data:
        raise ConfigError("this is a sweep config (it has 'sweep:' or 'base:'): run `ocp sweep CONFIG`")
    if "problem" not in data:
        raise ConfigError("missing required key 'problem'; run `ocp list` for the registered problem types")
    if not isinstance(data["problem"], str):
        raise ConfigError(f"'problem' must name a problem type (run `ocp list`), got {data['problem']!r}")
    ptype = registry.get(data["problem"])
    if isinstance(data.get("solver"), str):  # `solver: gradient_flow` is short for `solver: {name: gradient_flow}`
        data = {**data, "solver": {"name": data["solver"]}}
    run_keys = set(RunSettings.__dataclass_fields__)
    own_keys = {k for k in data if k not in run_keys}
    allowed = sorted(run_keys) + [k for k in keys(ptype.settings) if k not in run_keys]
    for key in own_keys:
        if key not in allowed:
            raise ConfigError(f"unknown key {key!r}; allowed keys: {', '.join(allowed)}")
    run = parse(RunSettings, {k: v for k, v in data.items() if k in run_keys})
    settings = parse(ptype.settings, {k: v for k, v in data.items() if k in own_keys})
    # each strategy's checks across fields (a continuation's factor) hold for the strategies the search runs
    run.initializations()
    run.first_start_initializations()
    return run, settings, ptype


def is_single_solve(run: RunSettings, problem) -> bool:
    """One start and one strategy: solved by one `OCPSolver` here, not by a multi-start's workers."""
    return run.multistart.starts == 1 and len(effective_strategies(run.initializations(), problem)) == 1


def solve_run(
    run: RunSettings, setup: registry.Setup, solver: OCPSolver | None = None, warm: Solution | None = None
) -> Solution:
    """Solve with the configured solver (``solver.name``, `SOLVERS`): IPOPT with the configured strategy or
    multi-start, or the gradient flow.

    ``solver``: an NLP already built for a problem of this shape (a sweep's
    worker keeps one per shape); a single IPOPT solve uses it instead of
    building, with this problem's T and parameter values. A multi-start
    builds in its own workers either way; ``warm`` (a sweep's previous point)
    is its first local search, warm-started (`multistart`)."""
    return SOLVERS[run.solver.name].run(run, setup, solver, warm)


def _ipopt(
    run: RunSettings, setup: registry.Setup, solver: OCPSolver | None = None, warm: Solution | None = None
) -> Solution:
    """IPOPT: one solve with the configured strategy, or the best of a multi-start (`solve_run`)."""
    problem = setup.problem
    inits = effective_strategies(run.initializations(), problem)
    if len(inits) < len(run.initializations()):
        log.info("the first-order phase does not apply here: first_order and adam start as simulate does")
    hint = "" if run.solver.verbose else " (--verbose shows every iteration)"
    if is_single_solve(run, problem):
        built = ""
        with sigint_flag() as asked:  # CasADi swallows a KeyboardInterrupt inside IPOPT: stop it by a flag
            if solver is None:
                solver = OCPSolver(problem, run.discretisation(), run.solver.options(), stop_when=asked.is_set)
                built = f"built the NLP in {solver.build_time_s:.2f} s; "
            log.info(f"{built}solving ({inits[0].strategy} start){hint} ...")
            parameters = {p.name: p.value for p in problem.parameters}
            solution = solve_with(solver, inits[0], parameters=parameters, T=run.T, initial_guess=setup.initial_guess)
        if asked.is_set():
            raise Interrupted(solution)  # IPOPT's last iterate: the best this solve has
        for stage in solution.start.stages[:-1]:
            log.info(f"  stage {stage['stage']}: objective {stage['objective']:.6g}, {stage['iterations']} its")
        return solution
    first_start = first_start_strategies(run.first_start_initializations(), inits, problem)
    settings = run.multistart.search_settings(inits, first_start, run.seed, run.solver.max_iter)
    log.info(f"{search_plan(settings, inits, first_start)}; one NLP build per worker ...")
    # the bar counts what the claim counts: draws (every solve of a portfolio); extras are shown, not counted
    if settings.portfolio:
        solves = settings.starts * len(inits) + len(first_start) + (warm is not None)  # `PortfolioPlan`'s
        total, unit = min(solves, settings.max_searches or solves), "solves"
    else:
        total, unit = settings.draws, "draws"
    tally = Progress(log, total, unit, parallel=settings.workers or os.cpu_count() or 1)

    def progress(position: int, task, sol: Solution) -> None:
        status = "stopped (patience or search over)" if sol.status == Status.USER_REQUESTED_STOP else sol.status
        counts = settings.portfolio or task.role == Role.DRAW
        line = f"  {_task_words(task, sol)}: {status}, objective {sol.objective:.6g}"
        tally.finished(line, counts=counts, wall_s=sol.start.time_s)

    solution = multistart(
        problem,
        run.discretisation(),
        settings,
        run.solver.options(),
        guess=setup.initial_guess,
        T=run.T,
        progress=progress,
        warm=warm,
    )
    report = solution.start.multistart
    if report["converged"] == 0:
        log.info(f"search: no local search converged; keeping the lowest objective ({report.found_by()})")
        return solution
    log.info(
        f"search: best from {report.found_by()}; objectives best "
        f"{report['best']:.6g}, median {report['median']:.6g}, worst {report['worst']:.6g}; "
        f"{report['distinct']} distinct optima among {report['converged']} converged",
    )
    log.info(report.line())
    return solution


def search_plan(settings: SearchSettings, inits, first_start) -> str:
    """What a search will run, in one line: the draws its effort implies and what they cover, or the
    portfolio's solves."""
    names = ", ".join(init.strategy for init in inits)
    if settings.portfolio:
        more = "".join(f" + {init.strategy} from start 0" for init in first_start)
        solves = settings.starts * len(inits) + len(first_start)
        return f"search (portfolio): {settings.starts} starts x ({names}){more} = {solves} solves, no coverage claim"
    q = settings.coverage_target
    extras = "the configured start, " + "".join(f"{init.strategy}, " for init in first_start)
    extras += ("hops and " if settings.hops else "") + "more starts of what pays off"
    budget = f"; {settings.max_searches} local searches at most" if settings.max_searches else ""
    return (
        f"search (effort {settings.effort}): {settings.draws} random draws, each with one of ({names}) at random, "
        f"to reach any basin that at least {in_words(q)} starts reach with probability {settings.confidence:.0%}; "
        f"plus extras ({extras}) in {settings.extra_share:.0%} of the local searches{budget}"
    )


def _task_words(task, sol: Solution) -> str:
    """A finished local search, for the progress lines."""
    if task.role == Role.HOP:
        return f"hop from solve {sol.start.hop_from}"
    what = {"draw": "draw", "extra": "extra start", "guess": "configured start", "portfolio": "start"}
    if task.role == Role.WARM:
        return "the previous point's solution"
    number = "" if task.role == Role.GUESS else f" {task.index}"
    return f"{what[task.role.value]}{number} ({sol.start.strategy})"


def _gradient_flow(
    run: RunSettings, setup: registry.Setup, solver: OCPSolver | None = None, warm: Solution | None = None
) -> Solution:
    """``solver: gradient_flow``: gradient descent from the problem's start (start 0; no multi-start; a built
    IPOPT ``solver`` is of no use to it)."""
    options = replace(run.gradient_flow, verbose=run.solver.verbose)
    trainer = GradientFlow(setup.problem, run.discretisation(), options)
    every = max(1, options.iterations // 10)
    log.info(
        f"built the gradient in {trainer.build_time_s:.2f} s; gradient flow: {options.iterations} steps, "
        f"learning rate {options.learning_rate:g} ({options.step_scaling} scaling) ...",
    )
    begin = time.perf_counter()

    def progress(iteration: int, objective: float) -> None:
        if iteration % every == 0:
            log.info(f"  step {iteration}: objective {objective:.6g} ({time.perf_counter() - begin:.0f} s)")

    parameters = {p.name: p.value for p in setup.problem.parameters}
    return trainer.solve(parameters=parameters, T=run.T, initial_guess=setup.initial_guess, callback=progress)


def _gauss_newton(
    run: RunSettings, setup: registry.Setup, solver: OCPSolver | None = None, warm: Solution | None = None
) -> Solution:
    """``solver: gauss_newton``: the lifted Gauss-Newton fit (`ocp/solvers/gauss_newton.py`) from the problem's
    start (start 0; no multi-start), with the solver section's max_iter, tol and verbose."""
    fitter = GaussNewton(setup.problem, run.discretisation(), run.solver.options())
    log.info(f"built the lifted Gauss-Newton fit in {fitter.build_time_s:.2f} s; solving ...")
    parameters = {p.name: p.value for p in setup.problem.parameters}
    solution = fitter.solve(parameters=parameters, T=run.T, initial_guess=warm or setup.initial_guess)
    if solution.status == Status.USER_REQUESTED_STOP:
        raise Interrupted(solution)  # Ctrl-C: the last accepted point, written like IPOPT's last iterate
    return solution


@dataclass(frozen=True)
class SolverChoice:
    """A value of ``solver.name``: how a config runs with it, and whether a sweep's worker keeps its build
    (an IPOPT NLP) across points and warm-starts from the neighbour's solution."""

    run: Callable[[RunSettings, registry.Setup, OCPSolver | None], Solution]
    reuses_builds: bool


SOLVERS: dict[str, SolverChoice] = {
    "ipopt": SolverChoice(_ipopt, reuses_builds=True),
    "gradient_flow": SolverChoice(_gradient_flow, reuses_builds=False),
    "gauss_newton": SolverChoice(_gauss_newton, reuses_builds=False),
}
if tuple(SOLVERS) != get_args(SolverName):  # the config validator reads SolverName
    raise RuntimeError("SolverName and SOLVERS must name the same solvers")
