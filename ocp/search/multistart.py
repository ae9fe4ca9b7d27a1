"""The global search: local searches in worker processes, the best kept, and what the draws vouch for.

Learning problems have many local optima, and which one IPOPT returns depends
on the start (`strategies.py`). A search (`SearchSettings`) runs local
searches of two sorts (`plan.py`):

- draws: random starts (controls scale x N(0, 1) seeded by (seed, i)), each
  with a strategy drawn from a fixed mixture. They are independent draws of
  one start distribution, so after n of them any basin that holds at least
  q = 1 - (1 - confidence)^(1 / n) of that distribution has been reached
  with probability at least ``confidence`` (`coverage.py`). The effort
  (quick, default, thorough) names the q to reach, and so the draws;
- extras: the caller's guess, a continuation, hops from the best so far and
  more starts of the strategies that pay off here, chosen by a bandit
  (`bandit.py`). They can only improve the answer and are never counted.

Each worker process builds the NLP once (the problem travels pickled in
CasADi's pickle context), keeps the build among its own
(`ocp.dispatch.WORKER_SOLVERS`: an in-process search leaves it there for the
next search of the same NLP) and solves the tasks it is given, each within
the worker's deadline.

Patience: a random start now and then wanders where IPOPT corrects the
Hessian's inertia at every iteration and one iteration costs 10-40 times the
usual (measured: 773 s for one start at N = 100 where the others took 2-16 s).
With ``patience`` P, a solve still running after P times the median duration
of the finished solves of its kind (hops, or starts solved with the same
strategy) and at least `ocp.dispatch.MIN_TIME_LIMIT_S` is stopped and counts as not
converged (a draw so stopped reached no minimum: it still counts as a draw,
so the claim is about the local search as capped). IPOPT looks at the clock
only between iterations, and one iteration can take minutes (a start at N =
200 on two-moons data: iterations of 15-110 s while MUMPS refactorises with
ever larger regularisation), so a solve still running OVERRUN_GRACE_S after
its cutoff is given up (an error for its position) and the worker processes
are replaced at once, the other running solves handed to the new ones.

Only the kept solution gets the optimality check (`optimality.py`): it costs
a reduced Hessian per solve and says nothing about the discarded ones.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import casadi as ca
import numpy as np

from ocp.dispatch import WORKER_SOLVERS, Dispatch, time_limit
from ocp.errors import Interrupted, ProblemError, SolveError
from ocp.executors import Executor, default_start_method, make_executor
from ocp.problem.guess import InitialGuess
from ocp.problem.method import MultipleShooting
from ocp.problem.problem import Problem
from ocp.processes import sigint_flag
from ocp.search.bandit import statistics
from ocp.search.basins import estimate
from ocp.search.coverage import good_turing, miss_probability_all, vouched_mass
from ocp.search.minima import census_of, converged, hits_per_minimum, spread
from ocp.search.plan import PLAN_AHEAD, CoveragePlan, PortfolioPlan, StoppingRule, finished_prefix
from ocp.search.report import SearchReport
from ocp.search.settings import SearchSettings
from ocp.search.strategies import Initialization, effective_strategies, first_start_strategies, solve_with
from ocp.search.tasks import EXTRA_STREAM, Role, Task, hop_guess, labelled, random_guess
from ocp.solvers.ipopt import OCPSolver, SolverOptions
from ocp.solvers.records import MaximumPrincipleReport, OptimalityReport
from ocp.solvers.solution import Solution
from ocp.solvers.status import Status

OVERRUN_GRACE_S = 5.0  # a solve past its cutoff by this much is given up: it is inside one long iteration


def random_starts(base: InitialGuess | None, K: int, nu: int, n: int, scale: float, seed: int) -> list[InitialGuess]:
    """``base`` followed by n - 1 guesses with controls scale x N(0, 1), (K, nu), seeded by (seed, i): start
    i is the search's draw i."""
    if not isinstance(n, int) or n < 1:
        raise ProblemError(f"multistart starts must be an integer >= 1, got {n!r}")
    if not scale >= 0:
        raise ProblemError(f"multistart scale must be >= 0, got {scale!r}")
    base = base or InitialGuess()
    return [base, *(random_guess(base, (K, nu), scale, [seed, i]) for i in range(1, n))]


def multistart(
    problem: Problem,
    method: MultipleShooting,
    settings: SearchSettings | None = None,
    options: SolverOptions | None = None,
    *,
    guess: InitialGuess | None = None,
    starts: Sequence[InitialGuess] | None = None,
    parameters: Mapping[str, Any] | None = None,
    T: float | None = None,
    progress: Callable[[int, Solution], None] | None = None,
    warm: Solution | None = None,
) -> Solution:
    """Search for the global minimum as ``settings`` say (module docstring); return the best solution, its
    ``start.multistart`` a `SearchReport`.

    ``guess``: the caller's start (start 0: position 0 of a search, so that one is a plain solve).
    ``starts``: the portfolio's starts, instead of ``guess`` and random ones (effort "portfolio" only).
    ``parameters``, ``T``: the fixed parameters' values and the horizon for every solve.
    ``warm``: a solution of a neighbouring problem of the same NLP (a sweep's previous point): the first
    local search, warm-started from its primal and multipliers.
    ``progress(position, solution)`` is called as each solve finishes.
    Raises `SolveError` when no solve produced a solution, `Interrupted` (holding the best so far) on Ctrl-C.
    """
    settings = settings or SearchSettings()
    options = options or SolverOptions()
    if starts is not None and not settings.portfolio:
        raise ProblemError("explicit starts are for effort 'portfolio'; a coverage search draws its own")
    mixture = effective_strategies(list(settings.strategies), problem)
    hops = settings.hops
    if hops is not None:  # without a first-order phase a hop is plain IPOPT from the moved controls: say so
        hops = replace(hops, strategy=effective_strategies(hops.strategy, problem)[0])
    first = first_start_strategies(settings.first_start, mixture, problem)
    workers = settings.workers or os.cpu_count() or 1
    base = guess or InitialGuess()
    if settings.portfolio:
        starts = (
            list(starts)
            if starts is not None
            else random_starts(base, method.K, problem.nu, settings.starts, settings.scale, settings.seed)
        )
        if warm is not None:
            starts = [InitialGuess(), *starts]
        planner = PortfolioPlan(len(starts), mixture, first, settings.max_searches, warm=warm is not None)
    else:
        starts = [base]
        lag = max(PLAN_AHEAD, workers)
        planner = CoveragePlan(
            mixture,
            first,
            hops,
            settings.draws,
            settings.extra_share,
            settings.max_searches,
            settings.seed,
            lag,
            warm=warm is not None,
        )
    workers = min(planner.total, workers)
    begin = time.perf_counter()
    rule = StoppingRule(planner, settings.time_budget, begin, settings.portfolio)
    context = {"parameters": dict(parameters or {}), "T": T}
    shape = (method.K, problem.nu)
    kinds = {s.strategy for s in [*mixture, *first]} | {"hop"}
    search = _Search(planner, starts, warm, hops, settings, kinds, shape, progress, context, rule)
    ipopt = dict(options.ipopt)
    if settings.max_seconds is not None:
        ipopt["max_wall_time"] = float(settings.max_seconds)
    # the check runs once, on the kept solution
    unchecked = replace(options, check_optimality=False, max_iter=settings.max_iter or options.max_iter, ipopt=ipopt)
    # one worker, local: the executor runs each solve in this process when it is waited for (`InProcess`)
    pool = make_executor(settings.executor, workers, settings.scheduler, start=default_start_method())
    best = search.run(problem, method, unchecked, pool, workers, options.check_optimality)
    report = search.report(mixture, workers, begin)
    best = replace(best, start=replace(best.start, multistart=report))
    if rule.interrupted:
        raise Interrupted(best)
    return best


class _Search:
    """One search in progress: its plan, the finished solves, the patience cutoffs and the stopping rule;
    run here (one worker) or on worker processes, the same tasks in the same order either way."""

    def __init__(self, planner, starts, warm, hops, settings: SearchSettings, kinds, shape, progress, context, rule):
        self.planner, self.starts, self.warm, self.hops, self.settings = planner, starts, warm, hops, settings
        self.shape, self.progress, self.context, self.rule = shape, progress, context, rule
        self.seed, self.patience = settings.seed, settings.patience
        self.tasks = planner.tasks  # grows as positions are decided
        self.results: dict[int, Solution] = {}
        self.errors: dict[int, str] = {}
        self.kinds = kinds  # every Task.kind the plan can hand out: each has its patience cutoff
        self.durations: dict[str, list[float]] = {kind: [] for kind in self.kinds}  # by Task.kind
        self.cutoffs: dict[str, Any] = {}  # by Task.kind: patience's limit (s), read by the workers' deadlines

    def guess_for(self, j: int) -> InitialGuess | Solution | None:
        """Decide position j and make its start; None while the solves it depends on are unfinished."""
        results, planner = self.results, self.planner
        if not planner.ready(j, finished_prefix(results, self.errors, planner.total), results):
            return None
        task = planner.next(j, results)
        scale, seed, own = self.settings.scale, self.seed, self.starts[0]
        if task.role == Role.WARM:
            return self.warm
        if task.role in (Role.GUESS, Role.PORTFOLIO):
            return self.starts[task.index]
        if task.role == Role.DRAW:
            return random_guess(own, self.shape, scale, [seed, task.index])
        if task.role == Role.EXTRA:
            return random_guess(own, self.shape, scale, [seed, EXTRA_STREAM, task.index])
        base = planner.bases.get(j)
        return own if base is None else hop_guess(results[base], self.hops, seed, j)

    def finished(self, j: int, solution: Solution) -> None:
        task = self.tasks[j]
        if self.rule.reason:  # cut short by the stop (a time budget): a candidate, not a draw
            self.rule.cut.add(j)
        self.results[j] = labelled(solution, task, self.planner.bases.get(j))
        kind = self.durations[task.kind]
        kind.append(solution.start.time_s)
        if self.patience is not None and not self.rule.reason:  # once the search is over the cutoffs stay at 0
            self.cutoffs[task.kind].value = time_limit(self.patience, float(np.median(kind)))
        if self.progress:
            self.progress(j, task, self.results[j])

    def run(self, problem, method, unchecked: SolverOptions, pool: Executor, workers: int, check: bool):
        """The solves on ``workers`` of ``pool``'s workers (this process for `InProcess`), each worker with its
        own build; the best (checked in a worker)."""
        with ca.global_pickle_context():
            payload = pickle.dumps((problem, method, unchecked))
        # one writer (here), readers in the workers: patience moves them, the stopping rule sets them to 0
        self.cutoffs = {kind: pool.shared_value(float("inf")) for kind in self.kinds}
        key = "search:" + hashlib.sha256(payload).hexdigest()[:16]  # the same pickled NLP: the same build
        pool.set_up(_init, payload, key, self.cutoffs)
        running = Dispatch(pool, _solve_task)
        try:
            # Ctrl-C sets a flag that the loop reads between two waits: raised wherever it lands, a
            # KeyboardInterrupt inside a CasADi call here would come back as a RuntimeError (an error of
            # one solve) and the search would go on
            with sigint_flag() as asked:
                try:
                    self._hand_out_and_collect(running, workers, asked)
                except KeyboardInterrupt:
                    self.rule.interrupt()  # the workers are ended below; nothing more is asked of them
            self.rule.verdict(self.results, self.errors)
            best = _best_or_interrupted(self.rule, self.results, self.errors)
            if check and not self.rule.interrupted:
                optimality, certificate = _check_in(pool, best)
                best = replace(best, optimality=optimality, maximum_principle=certificate)
        finally:  # also on Ctrl-C: no worker process is left behind
            pool.abort()
            pool.close()
        return best

    def _hand_out_and_collect(self, running: Dispatch, workers: int, asked: threading.Event) -> None:
        """Hand out local searches and collect them until the stopping rule ends the search (or Ctrl-C:
        ``asked``)."""
        rule, results, errors, cutoffs = self.rule, self.results, self.errors, self.cutoffs
        upcoming = 0

        def hand_out() -> None:
            nonlocal upcoming
            if running.run_suspect_alone():
                return
            while len(running.handed) < workers and upcoming < self.planner.total and not rule.reason:
                guess = self.guess_for(upcoming)
                if guess is None:
                    return
                running.submit(upcoming, guess, self.tasks[upcoming], self.context)  # key: the position
                upcoming += 1

        hand_out()
        while running.handed:
            if asked.is_set():
                raise KeyboardInterrupt
            for handed, solution, err in running.collect(timeout=1.0):
                if asked.is_set() and err is None and solution.status == Status.USER_REQUESTED_STOP:
                    raise KeyboardInterrupt  # a solve cut short by Ctrl-C (in this process): not a local search
                if err is not None:  # one solve lost (its worker died twice, a solve error): the others go on
                    errors[handed.key] = f"{type(err).__name__}: {err}"
                else:
                    self.finished(handed.key, solution)
            stuck = running.overdue(lambda j: cutoffs[self.tasks[j].kind].value + OVERRUN_GRACE_S)
            for j, waited in stuck:
                errors[j] = f"given up after {waited:.0f} s: an IPOPT iteration outran the cutoff"
            if rule.verdict(results, errors):
                for cutoff in cutoffs.values():
                    cutoff.value = 0.0  # the solves still running stop at their next IPOPT iteration
            if stuck:  # its worker is busy for who knows how long: replace the workers (after a stop, drop the rest)
                running.replace_workers(resubmit=not rule.reason)
            hand_out()

    def report(self, mixture: Sequence[Initialization], workers: int, begin: float) -> SearchReport:
        """What the search did and what its draws vouch for (`SearchReport`)."""
        tasks, results, errors, settings = self.tasks, self.results, self.errors, self.settings
        positions = range(len(tasks))
        objectives = [results[j].objective if j in results else float("nan") for j in positions]
        succeeded = [j in results and results[j].success for j in positions]
        done = [j for j in positions if tasks[j].role == Role.DRAW and (j in results or j in errors)]
        draws = [j for j in done if j not in self.rule.cut]
        hits = hits_per_minimum([results[j].objective for j in draws if j in results and converged(results[j])])
        n, confidence = len(draws), settings.confidence
        q = vouched_mass(n, confidence)
        best = min(results, key=lambda j: (not results[j].success, results[j].objective))
        n_converged, _, best_hits = census_of(list(results.values()))
        target = settings.coverage_target
        return SearchReport(
            effort=settings.effort,
            strategies=[s.strategy for s in mixture],
            coverage_target=target,
            unseen_basin_confidence=confidence,
            draws=n,
            draws_needed=settings.draws,
            unseen_basin_mass=q,
            unseen_basin_miss_bound_all=miss_probability_all(q, n) if n else 1.0,
            good_turing_unseen_mass=good_turing(hits, n),
            draw_minima_hits=hits,
            model_based_estimate=estimate(sum(hits), len(hits)).as_dict(),
            extras=self._extras(),
            stop_reason=self.rule.reason.value if self.rule.reason else "",
            local_searches=n_converged,
            best_hits=best_hits,
            best_position=best,
            best_role=tasks[best].role.value,
            best_start=tasks[best].index,
            best_strategy=results[best].start.strategy,
            solves=[_describe(tasks[j], self.planner.bases.get(j), results.get(j)) for j in positions],
            objectives=objectives,
            succeeded=succeeded,
            errors={str(i): e for i, e in errors.items()},
            stopped_for_patience=sum(sol.status == Status.USER_REQUESTED_STOP for sol in results.values()),
            workers=workers,
            time_s=time.perf_counter() - begin,
            warm_start=self.warm is not None,
            starts=len(self.starts) if settings.portfolio else None,
            **spread(objectives, succeeded),
        )

    def _extras(self) -> dict[str, dict[str, int]]:
        """Per arm of the bandit: extras it was given, solves of its kind seen, new bests they found."""
        planner = self.planner
        if not isinstance(planner, CoveragePlan):
            return {}
        stats = statistics(planner.arms, self.tasks, self.results, planner.pulls)
        return {name: {"extras": s.pulls, "solves": s.solves, "new_bests": s.wins} for name, s in stats.items()}


def _best_or_interrupted(rule: StoppingRule, results: dict[int, Solution], errors: dict[int, str]) -> Solution:
    if rule.interrupted and not results:
        raise Interrupted(None)
    return _best(results, errors)


def _describe(task: Task, base: int | None, solution: Solution | None) -> dict[str, Any]:
    where = {"hop_from": base} if task.is_hop else {} if task.index is None else {"start": task.index}
    done = {} if solution is None else {"time_s": solution.start.time_s, "iterations": solution.iterations}
    return {"role": task.role.value, **where, "strategy": task.strategy.strategy, **done}


def _best(results: dict[int, Solution], errors: dict[int, str] | None = None) -> Solution:
    """The converged solve with the lowest objective (else the lowest objective)."""
    if not results:
        reasons = "; ".join(sorted(set((errors or {}).values())))
        raise SolveError(f"multi-start: no start produced a solution ({reasons})")
    return min(results.values(), key=lambda sol: (not sol.success, sol.objective))


def _check_in(pool: Executor, best: Solution) -> tuple[OptimalityReport, MaximumPrincipleReport]:
    """The optimality check and the maximum principle of ``best``, run by a worker (which holds a built
    solver)."""
    try:
        future = pool.submit(_check, best)
        pool.wait_any([future])  # an in-process executor runs it here, when waited for
        return future.result()
    except Exception as err:  # a lost worker costs the check, not the search
        why = f"the check failed in a worker ({type(err).__name__}: {err})"
        return OptimalityReport(skipped=why), MaximumPrincipleReport(skipped=why)


def _check(solution: Solution) -> tuple[OptimalityReport, MaximumPrincipleReport]:
    solver = _solver()
    return solver.check(solution), solver.certify(solution)


# the search this process serves: its build key, the pickled problem (to build again should the build have
# been dropped from `WORKER_SOLVERS`) and the shared patience cutoffs, by Task.kind
_SEARCH: dict[str, Any] = {}


def _init(payload: bytes, key: str, cutoffs) -> None:
    """Each worker's set-up (`ocp/executors.py`): the solver built once (or found built: an in-process search
    of the same NLP before), stopped by the worker's deadline."""
    _SEARCH.update(payload=payload, key=key, cutoffs=cutoffs)
    _solver()


def _solver() -> OCPSolver:
    def build(stop_when: Callable[[], bool]) -> OCPSolver:
        with ca.global_unpickle_context():
            problem, method, options = pickle.loads(_SEARCH["payload"])
        return OCPSolver(problem, method, options, stop_when=stop_when)

    return WORKER_SOLVERS.get(_SEARCH["key"], build)[0]


def _solve_task(guess: InitialGuess | Solution, task: Task, context: dict[str, Any]) -> Solution:
    solver, cutoff = _solver(), _SEARCH["cutoffs"][task.kind]
    parameters, T = context["parameters"], context["T"]
    # patience's cutoff moves while the solve runs: read at every check
    with WORKER_SOLVERS.deadline.running(lambda: cutoff.value):
        if isinstance(guess, Solution):  # a neighbour's solution (``warm``): solved warm, whatever the strategy
            init = Initialization("first_order")
            solution = solve_with(solver, init, parameters=parameters, T=T, initial_guess=guess)
            return replace(solution, start=replace(solution.start, strategy="warm"))
        return solve_with(solver, task.strategy, parameters=parameters, T=T, initial_guess=guess)
