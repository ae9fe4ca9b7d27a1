"""Multi-start and global search: local searches in worker processes, the best kept, what is known reported.

Learning problems have many local optima, and which one IPOPT returns depends
on the start (`strategies.py`). Start 0 is the caller's guess, so one start is
exactly a plain solve; start i >= 1 draws controls scale x N(0, 1) from
``numpy.random.default_rng([seed, i])``, so every start is reproducible on its
own. Each worker process builds the NLP once (the problem travels pickled in
CasADi's pickle context) and solves the starts it is given.

Several strategies (a portfolio): every start is solved with each of them,
since which strategy finds the best optimum differs from instance to instance
(`benchmarks/README.md`, "strategies.py"); without hops start by start. ``first_start``
strategies are solved once more, from start 0 only, right after start 0's
others: a continuation in lambda is deterministic in its stages and costs
about 1.5 plain solves, and on L1 problems it alone held the best optimum of
2 of 12 instances, which 8 starts of the portfolio missed by 16-22 %
(`benchmarks/README.md`). With ``hops``, basin hops from the best solution so
far are handed out between these start tasks; the order and the choice
between the two kinds are `plan.py`'s.

Patience: a random start now and then wanders where IPOPT corrects the
Hessian's inertia at every iteration and one iteration costs 10-40 times the
usual (measured: 773 s for one start at N = 100 where the others took 2-16 s).
With ``patience`` P, a solve still running after P times the median duration
of the finished solves of its kind (hops, or starts solved with the same
strategy: a plain IPOPT start costs ten first_order probes on two-moons data)
and at least MIN_PATIENCE_S is stopped and counts as not converged. IPOPT looks at the clock only between iterations,
and one iteration can take minutes (a start at N = 200 on two-moons data:
iterations of 15-110 s while MUMPS refactorises with ever larger
regularisation), so a solve still running OVERRUN_GRACE_S after its cutoff
is given up (an error for its position) and the worker processes are
replaced at once, the other running solves handed to the new ones. Replayed on the recorded solve times of the 18
instances of `benchmarks/strategies.py`, P = 10 stops 7 of the 288 simulate
and adam solves, none of which held its instance's best optimum, and saves
29 % of the default portfolio's time.

Only the kept solution gets the optimality check (`optimality.py`): it costs
a reduced Hessian per solve and says nothing about the discarded ones.

The spread says how rugged the problem is: best, median and worst objective of
the converged starts and how many distinct optima they reached (objectives
that differ by more than 1e-6 relative).

A stopping rule (``confidence``): solves are handed out in task order, a few
at a time, and after each one the converged solves of the longest finished
prefix of that order give n local searches and w distinct minima; once the
posterior probability that the best of them is the global minimum
(`basins.py`, Boender and Rinnooy Kan) reaches ``confidence``, nothing more is
started and the solves still running are stopped. Deciding on the prefix, not
on whichever solves happened to finish first, makes the answer the same for
any number of workers. Without ``confidence`` every task is solved (the
portfolio of earlier versions, kept selectable for comparison).
"""

from __future__ import annotations

import os
import pickle
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

import casadi as ca
import numpy as np

from ocp.errors import Interrupted, ProblemError, SolveError
from ocp.executors import Executor, ExecutorName, default_start_method, make_executor
from ocp.options import at_least, check_fields, open_interval, positive
from ocp.problem.guess import InitialGuess
from ocp.problem.method import MultipleShooting
from ocp.problem.problem import Problem
from ocp.processes import sigint_flag
from ocp.search.plan import (
    Hops,
    StoppingRule,
    Task,
    finished_prefix,
    hop_guess,
    labelled,
    plan,
    spread,
)
from ocp.search.running import Running
from ocp.search.strategies import Initialization, effective_strategies, first_start_strategies, solve_with
from ocp.solvers.ipopt import OCPSolver, SolverOptions
from ocp.solvers.records import MaximumPrincipleReport, OptimalityReport
from ocp.solvers.solution import Solution
from ocp.solvers.status import Status

MIN_PATIENCE_S = 3.0  # patience never stops a solve sooner: short solves' durations are mostly noise
OVERRUN_GRACE_S = 5.0  # a solve past its cutoff by this much is given up: it is inside one long iteration


def random_starts(base: InitialGuess | None, K: int, nu: int, n: int, scale: float, seed: int) -> list[InitialGuess]:
    """``base`` followed by n - 1 guesses with controls scale x N(0, 1), (K, nu), seeded by (seed, i)."""
    if not isinstance(n, int) or n < 1:
        raise ProblemError(f"multistart starts must be an integer >= 1, got {n!r}")
    if not scale >= 0:
        raise ProblemError(f"multistart scale must be >= 0, got {scale!r}")
    base = base or InitialGuess()
    draws = [np.random.default_rng([seed, i]).standard_normal((K, nu)) * scale for i in range(1, n)]
    return [base, *(replace(base, controls=u, states=None) for u in draws)]


def multistart(
    problem: Problem,
    method: MultipleShooting,
    starts: Sequence[InitialGuess],
    options: SolverOptions | None = None,
    *,
    init: Initialization | Sequence[Initialization] | None = None,
    first_start: Sequence[Initialization] = (),
    parameters: Mapping[str, Any] | None = None,
    T: float | None = None,
    workers: int | None = None,
    executor: ExecutorName = "local",
    scheduler: str | None = None,
    progress: Callable[[int, Solution], None] | None = None,
    max_iter: int | None = None,
    max_seconds: float | None = None,
    patience: float | None = None,
    confidence: float | None = None,
    time_budget: float | None = None,
    hops: Hops | None = None,
    max_searches: int | None = None,
    seed: int = 0,
    warm: Solution | None = None,
) -> Solution:
    """Solve from every start with each strategy of ``init`` (and hop from the best, with ``hops``);
    return the best solution.

    ``first_start``: strategies solved from start 0 only, beside those (one
    that cannot run on ``problem``, a continuation with no parameter marked,
    is left out; `strategies.applicable`).

    ``workers``: processes (default: one per core; 1 solves in this process;
    forked on Linux, spawned elsewhere). ``executor`` "dask" runs the solves
    on a Dask LocalCluster of ``workers``, or on the cluster whose scheduler
    is at ``scheduler`` (workers with one thread each: a worker holds one
    build); the answer is the same (`ocp/executors.py`).
    ``max_iter`` caps IPOPT's iterations per solve (default: the options'):
    a start that has not converged by then is given up rather than waited for
    (some random starts wander for thousands of iterations; see
    `benchmarks/README.md`).
    ``max_seconds`` caps each solve's wall time the same way (IPOPT's
    ``max_wall_time``): a start that wanders into a region where IPOPT
    corrects the Hessian's inertia over and over can take minutes per
    iteration (measured: 1184 s for one start at N = 400, against 10-30 s for
    the others).
    ``patience`` stops a solve that runs longer than ``patience`` x the median
    duration of the finished solves of its kind, hop or strategy (at least
    MIN_PATIENCE_S; see above).
    ``confidence``: stop once the probability that the best minimum found is
    the global one reaches it (the module docstring); None solves every task.
    ``time_budget``: seconds for the whole search, after which nothing more is
    started and running solves are stopped.
    ``hops``, ``max_searches``, ``seed``: basin hopping and the length of the
    task list (`plan.py`); the hops' perturbations are seeded by ``seed``.
    ``warm``: a solution of a neighbouring problem of the same NLP (a sweep's
    previous point): the first local search, warm-started from its primal and
    multipliers, counted like any other (it becomes start 0, ``starts`` follow).
    ``progress(start, solution)`` is called as each solve finishes (start -1
    for a hop). The returned solution's ``start["multistart"]`` holds every
    solve's start, strategy and objective, the `spread` and the estimate.
    Raises `SolveError` when no solve produced a solution.
    """
    options = options or SolverOptions()
    SearchLimits(max_iter, max_seconds, patience, confidence, time_budget, max_searches)  # checks them
    inits = effective_strategies(init, problem)
    if hops is not None:  # without a first-order phase a hop is plain IPOPT from the moved controls: say so
        hops = replace(hops, strategy=effective_strategies(hops.strategy, problem)[0])
    workers = workers or os.cpu_count() or 1
    starts = [warm, *starts] if warm is not None else list(starts)
    first = first_start_strategies(first_start, inits, problem)
    planner = plan(len(starts), inits, first, hops, max_searches, workers, warm=warm is not None)
    workers = min(planner.total, workers)
    begin = time.perf_counter()
    rule = StoppingRule(planner.total, confidence, time_budget, begin)
    context = {"parameters": dict(parameters or {}), "T": T}
    search = _Search(planner, starts, hops, seed, patience, progress, context, rule)
    ipopt = dict(options.ipopt) | ({"max_wall_time": float(max_seconds)} if max_seconds is not None else {})
    # the check runs once, on the kept solution
    unchecked = replace(options, check_optimality=False, max_iter=max_iter or options.max_iter, ipopt=ipopt)
    if workers <= 1 and executor == "local":
        best = search.run_here(problem, method, unchecked, options.check_optimality)
    else:
        pool = make_executor(executor, workers, scheduler, start=default_start_method())
        best = search.run_on_workers(problem, method, unchecked, pool, workers, options.check_optimality)
    report = search.report(len(starts), inits, workers, begin) | {"warm_start": warm is not None}
    best = replace(best, start=replace(best.start, multistart=report))
    if rule.interrupted:
        raise Interrupted(best)
    return best


@dataclass(frozen=True)
class SearchLimits:
    """The limits a search takes (`multistart`'s arguments of these names), each with its check declared
    once: `multistart` checks its arguments by making one, and the config's ``multistart:`` section
    declares its fields from these with the command line's defaults (`ocp/options.py`, `declared_as`).
    None: no limit (``confidence`` None: every task is solved)."""

    max_iter: int | None = at_least(1, None)
    max_seconds: float | None = positive(None)
    patience: float | None = at_least(1.0, None)
    confidence: float | None = open_interval(0.0, 1.0, None)
    time_budget: float | None = positive(None)
    max_searches: int | None = at_least(1, None)

    def __post_init__(self) -> None:
        check_fields(self, "multistart")


class _Search:
    """One search in progress: its plan, the finished solves, the patience cutoffs and the stopping rule;
    run here (one worker) or on worker processes, the same tasks in the same order either way."""

    def __init__(self, planner, starts, hops, seed: int, patience, progress, context, rule: StoppingRule) -> None:
        self.planner, self.starts, self.hops, self.seed = planner, starts, hops, seed
        self.patience, self.progress, self.context, self.rule = patience, progress, context, rule
        self.tasks = planner.tasks  # grows as positions are decided
        self.results: dict[int, Solution] = {}
        self.errors: dict[int, str] = {}
        self.bases: dict[int, int | None] = {}  # hop position -> position of the solution it started from
        self.kinds = {task.kind for task in planner.start_tasks} | {"hop"}
        self.durations: dict[str, list[float]] = {kind: [] for kind in self.kinds}  # by Task.kind
        self.cutoffs: dict[str, Any] = {}  # by Task.kind: patience's limit (s), read by the solves' clocks

    def guess_for(self, j: int) -> InitialGuess | None:
        """Decide position j and make its start; None while the solves it depends on are unfinished."""
        results, planner = self.results, self.planner
        if not planner.ready(j, finished_prefix(results, self.errors, planner.total), results):
            return None
        task, self.bases[j] = planner.next(j, results)
        if not task.is_hop:
            return self.starts[task.start]
        if self.bases[j] is None:  # every start task handed out and nothing converged to hop from
            return self.starts[0]
        return hop_guess(results[self.bases[j]], self.hops, self.seed, j)

    def finished(self, j: int, solution: Solution) -> None:
        task = self.tasks[j]
        self.results[j] = labelled(solution, task, self.bases.get(j))
        kind = self.durations[task.kind]
        kind.append(solution.start.time_s)
        if self.patience is not None and not self.rule.reason:  # once the search is over the cutoffs stay at 0
            self.cutoffs[task.kind].value = max(MIN_PATIENCE_S, self.patience * float(np.median(kind)))
        if self.progress:
            self.progress(-1 if task.is_hop else task.start, self.results[j])

    def run_here(self, problem, method, unchecked: SolverOptions, check: bool) -> Solution:
        """Every solve in this process, one after the other; the best (checked when ``check``)."""
        rule, results, errors = self.rule, self.results, self.errors
        self.cutoffs = {kind: SimpleNamespace(value=float("inf")) for kind in self.kinds}
        clock = _Clock(self.cutoffs)
        solver = OCPSolver(problem, method, unchecked, stop_when=clock.exceeded)
        # CasADi swallows a KeyboardInterrupt raised inside IPOPT (the solve just fails), so Ctrl-C sets a
        # flag instead, which stops IPOPT at its next iteration and the search after it
        with sigint_flag() as clock.interrupted:
            try:
                for j in range(self.planner.total):
                    if rule.verdict(results, errors):
                        break
                    guess = self.guess_for(j)
                    solution = _solve_task(guess, self.tasks[j], self.context, solver, clock)
                    if clock.interrupted.is_set():
                        raise KeyboardInterrupt  # the solve was cut short: not a finished local search
                    self.finished(j, solution)
            except KeyboardInterrupt:
                rule.interrupt()
        rule.verdict(results, errors)
        best = _best_or_interrupted(rule, results, errors)
        if check and not rule.interrupted:
            best = replace(best, optimality=solver.check(best), maximum_principle=solver.certify(best))
        return best

    def run_on_workers(self, problem, method, unchecked: SolverOptions, pool: Executor, workers: int, check: bool):
        """The solves on ``workers`` of ``pool``'s workers, each with its own build; the best (checked in a
        worker)."""
        with ca.global_pickle_context():
            payload = pickle.dumps((problem, method, unchecked))
        # one writer (here), readers in the workers: patience moves them, the stopping rule sets them to 0
        self.cutoffs = {kind: pool.shared_value(float("inf")) for kind in self.kinds}
        pool.set_up(_init, payload, self.cutoffs)
        running = Running(pool, _solve_task)
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

    def _hand_out_and_collect(self, running: Running, workers: int, asked: threading.Event) -> None:
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
                running.submit(upcoming, guess, self.tasks[upcoming], self.context)
                upcoming += 1

        hand_out()
        while running.handed:
            if asked.is_set():
                raise KeyboardInterrupt
            for future in running.pool.wait_any(list(running.handed), timeout=1.0):
                handed = running.handed.pop(future)
                try:
                    self.finished(handed.position, future.result())
                except Exception as err:  # one solve lost (its worker died, a solve error): the others go on
                    if not running.hand_out_again(handed, err):
                        errors[handed.position] = f"{type(err).__name__}: {err}"
            stuck = running.overdue(lambda task: cutoffs[task.kind].value + OVERRUN_GRACE_S)
            for j, waited in stuck:
                errors[j] = f"given up after {waited:.0f} s: an IPOPT iteration outran the cutoff"
            if rule.verdict(results, errors):
                for cutoff in cutoffs.values():
                    cutoff.value = 0.0  # the solves still running stop at their next IPOPT iteration
            if stuck:  # its worker is busy for who knows how long: replace the workers (after a stop, drop the rest)
                running.replace_workers(resubmit=not rule.reason)
            hand_out()

    def report(self, n_starts: int, inits: Sequence[Initialization], workers: int, begin: float) -> dict[str, Any]:
        """What the search did and knows (the solution's ``start["multistart"]``)."""
        tasks, rule, bases = self.tasks, self.rule, self.bases
        kept = rule.kept(self.results)
        positions = range(min(len(tasks), rule.prefix))  # the positions decided (and solved)
        objectives = [kept[j].objective if j in kept else float("nan") for j in positions]
        succeeded = [j in kept and kept[j].success for j in positions]
        ranked = sorted(kept, key=lambda j: (not kept[j].success, kept[j].objective))
        return {
            "starts": n_starts,
            "strategies": [strategy.strategy for strategy in inits],
            "workers": workers,
            "best_start": tasks[ranked[0]].start if not tasks[ranked[0]].is_hop else -1,
            "best_strategy": kept[ranked[0]].start.strategy,
            "solves": [_describe(tasks[j], bases.get(j), kept.get(j)) for j in positions],
            "objectives": objectives,
            "succeeded": succeeded,
            "errors": {str(i): e for i, e in self.errors.items()},
            "stopped_for_patience": sum(kept[j].status == Status.USER_REQUESTED_STOP for j in kept),
            "time_s": time.perf_counter() - begin,
            **spread(objectives, succeeded),
            **rule.report(kept),
        }


def _best_or_interrupted(rule: StoppingRule, results: dict[int, Solution], errors: dict[int, str]) -> Solution:
    if rule.interrupted and not results:
        raise Interrupted(None)
    return _best(rule.kept(results), errors)


def _describe(task: Task, base: int | None, solution: Solution | None) -> dict[str, Any]:
    where = {"hop_from": base} if task.is_hop else {"start": task.start}
    done = {} if solution is None else {"time_s": solution.start.time_s, "iterations": solution.iterations}
    return {**where, "strategy": task.strategy.strategy, **done}


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
        return pool.submit(_check, best).result()
    except Exception as err:  # a lost worker costs the check, not the search
        why = f"the check failed in a worker ({type(err).__name__}: {err})"
        return OptimalityReport(skipped=why), MaximumPrincipleReport(skipped=why)


def _check(solution: Solution) -> tuple[OptimalityReport, MaximumPrincipleReport]:
    solver = _WORKER["solver"]
    return solver.check(solution), solver.certify(solution)


class _Clock:
    """How long the current solve has run, against the multi-start's moving cutoffs (s), one per kind of
    task (``cutoffs[Task.kind].value``)."""

    def __init__(self, cutoffs) -> None:
        self.cutoffs = cutoffs
        self.started = time.perf_counter()
        self.kind = "hop"
        self.interrupted = threading.Event()  # set by Ctrl-C where this process handles it (`sigint_flag`)

    def start(self, kind: str) -> None:
        self.started, self.kind = time.perf_counter(), kind

    def exceeded(self) -> bool:
        over = time.perf_counter() - self.started > self.cutoffs[self.kind].value
        return over or self.interrupted.is_set()


_WORKER: dict[str, Any] = {}  # the solver of this process, built once, and its clock


def _init(payload: bytes, cutoffs) -> None:
    """Each worker's set-up (`ocp/executors.py`): the solver built once, with a clock on the shared cutoffs."""
    with ca.global_unpickle_context():
        problem, method, options = pickle.loads(payload)
    clock = _Clock(cutoffs)
    _WORKER["clock"] = clock
    _WORKER["solver"] = OCPSolver(problem, method, options, stop_when=clock.exceeded)


def _solve_task(
    guess: InitialGuess | Solution,
    task: Task,
    context: dict[str, Any],
    solver: OCPSolver | None = None,
    clock: _Clock | None = None,
) -> Solution:
    if solver is None:
        solver, clock = _WORKER["solver"], _WORKER["clock"]
    clock.start(task.kind)
    parameters, T = context["parameters"], context["T"]
    if isinstance(guess, Solution):  # a neighbour's solution (``warm``): solved warm, whatever the strategy
        solution = solve_with(solver, Initialization("first_order"), parameters=parameters, T=T, initial_guess=guess)
        return replace(solution, start=replace(solution.start, strategy="warm"))
    return solve_with(solver, task.strategy, parameters=parameters, T=T, initial_guess=guess)
