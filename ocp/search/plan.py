"""What a multi-start solves, in which order, and when it stops (`multistart.py` runs it).

Two kinds of local search share one ordered list of tasks:

- a start: one of the multi-start's starts (start 0 the caller's guess, the
  others random) solved with one strategy (`strategies.py`);
- a hop (basin hopping): the best solution found so far, its controls moved
  by ``Hops.scale`` x their root mean square x N(0, 1) (seeded by the task's
  position), then solved with ``Hops.strategy``. A hop that falls back
  into a basin already known costs little (on two-moons data 0.6 s against
  a 3.3 s plain solve), and where the good minima lie close together (the
  annulus, XOR and the default config) hops found the best minimum known
  sooner than random starts; on overlapping blobs they cost as much as a
  start and found nothing (`benchmarks/README.md`, "Global search"), which
  is why `Planner` weighs them by what they find.

Start tasks: every start with every strategy (which strategy finds the best
minimum differs from instance to instance: first_order on most A1 instances,
plain IPOPT on overlapping blobs, a checkerboard and spirals,
`benchmarks/README.md`), start 0 also with the first-start strategies (a
continuation). Without hops they come start by start, and they are all the
tasks (the portfolio of earlier versions). With hops they come strategy by
strategy (every start with the first strategy, then start 0 with the second,
the continuation, the other starts with the second, and so on), `Planner`
decides at each position whether the next start task or a hop comes, by what
each kind has cost and found, until ``max_searches`` (default: twice the
start tasks), and it escalates: while every search so far has reached the
same minimum it takes only the first strategy's start tasks (the cheap probe:
first_order by default), and once two distinct minima are seen, the rest in
order. On a landscape with one minimum the search then never pays for the
slower strategies (on two-moons data a plain IPOPT solve costs ten
first_order hops); where several basins show, the other strategies run on
many starts rather than every strategy on a few (on the rugged instances the
best minimum came from plain IPOPT on one start in 16).

Positions are decided PLAN_AHEAD (or, with more workers, one per worker)
ahead of the finished prefix: a hop at position j starts from the best
converged solve among positions <= j - lag (`Planner.horizon`: all earlier
ones when none of those converged and no start task is left), and position j
is decided only once those are finished. The choices, like everything else,
are therefore the same for a given seed whatever the timing and for any
number of workers up to PLAN_AHEAD, and a worker rarely waits behind a slow
solve.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ocp.errors import ProblemError
from ocp.problem.guess import InitialGuess
from ocp.search.basins import estimate
from ocp.search.strategies import Initialization
from ocp.solvers.solution import Solution

DISTINCT_TOLERANCE = 1e-6  # relative difference of objectives counted as another optimum
# positions decided ahead of the finished prefix: larger lets workers run on past a slow solve, but hops
# then start from an older best; 8 kept 2 workers busy past a plain IPOPT solve on two-moons data
PLAN_AHEAD = 8


@dataclass(frozen=True)
class Hops:
    """Basin hopping from the best solution so far (module docstring)."""

    scale: float = 1.0  # perturbation, relative to the root mean square of the best solution's controls
    strategy: Initialization = field(default_factory=lambda: Initialization("first_order"))

    def __post_init__(self) -> None:
        if not self.scale > 0.0:
            raise ProblemError(f"hops scale must be > 0, got {self.scale!r}")


@dataclass(frozen=True)
class Task:
    """One local search: ``start`` indexes the multi-start's starts; None makes it a hop."""

    strategy: Initialization
    start: int | None = None

    @property
    def is_hop(self) -> bool:
        return self.start is None

    @property
    def kind(self) -> str:
        """What patience compares a solve with: hops with hops, starts with starts of the same strategy (a
        plain IPOPT start costs ten first_order probes on two-moons data)."""
        return "hop" if self.is_hop else self.strategy.strategy


def plan(
    n_starts: int,
    inits: Sequence[Initialization],
    first_start: Sequence[Initialization],
    hops: Hops | None,
    max_searches: int | None,
    workers: int = 1,
    warm: bool = False,
) -> Planner:
    """The tasks to hand out (module docstring). With ``warm`` start 0 is a solution of a neighbouring
    problem (a sweep's previous point): one task, first, solved warm from its primal and multipliers (every
    strategy would solve it the same way), and start 1, the caller's own guess, takes the first-start
    strategies instead."""
    own = 1 if warm else 0  # the caller's own start
    if hops is None:  # the portfolio of earlier versions: start by start
        starts = [Task(inits[0], 0)] if warm else []
        starts += [Task(s, own) for s in [*inits, *first_start]]
        starts += [Task(s, i) for i in range(own + 1, n_starts) for s in inits]
    else:  # strategy by strategy, so that escalation reaches every strategy early, the continuation after one
        starts = [Task(s, i) for s in inits for i in range(n_starts) if not (warm and i == 0 and s != inits[0])]
        after = n_starts + 1 if len(inits) > 1 else n_starts  # after the own start's second strategy
        starts[after:after] = [Task(s, own) for s in first_start]
    return Planner(starts, hops, max_searches, max(PLAN_AHEAD, workers))


def cost(solution: Solution) -> float:
    """What a solve cost, in IPOPT iterations (every stage's) plus 1 per 50 first-order steps and 1 for the
    set-up: a deterministic stand-in for its time, so that the planner's choices repeat for a seed."""
    stages = solution.start.stages or [{"iterations": solution.iterations}]
    return 1.0 + sum(stage["iterations"] for stage in stages) + solution.first_order.iterations / 50.0


class Planner:
    """Which task comes at each position. Without hops: the start tasks in order. With hops: position 0 is
    start 0; then a hop whenever the hops have cost less per new best solution than the start tasks,

        cost(hops) x (1 + new bests by starts)  <  cost(starts) x (1 + new bests by hops),

    so the two split the effort evenly until one of them keeps finding better minima (hops on landscapes
    whose good minima lie close together, starts where they lie apart), and far more hops than starts
    where hops are cheap (a hop from a minimum that every search reaches costs a few iterations). The
    start task is the next one of the first strategy until two distinct minima are seen, then the next one
    in order (module docstring). Only positions <= j - lag count for position j, and j is handed out once
    they are finished, so the choice repeats for a seed whatever the timing."""

    def __init__(self, start_tasks: list[Task], hops: Hops | None, max_searches: int | None, lag: int):
        self.start_tasks, self.hops, self.lag = start_tasks, hops, max(1, lag)
        if hops is None:
            self.total = min(max_searches or len(start_tasks), len(start_tasks))
        else:
            self.total = max_searches or 2 * len(start_tasks)
        self.tasks: list[Task] = []
        self.taken: set[int] = set()  # start tasks handed out, by index

    def horizon(self, j: int, results: dict[int, Solution]) -> int:
        """The positions below it decide position j: j - lag + 1, or j itself (every earlier solve) when none
        of those converged and no start task may come next, so that a hop has a solution to start from."""
        upto = max(0, j - self.lag + 1)
        if self.hops is not None and best_of(results, upto) is None:
            if not self._start_candidates({i: sol for i, sol in results.items() if i < upto}, may_hop=True):
                return j
        return upto

    def ready(self, j: int, prefix: int, results: dict[int, Solution]) -> bool:
        """Whether position j can be decided, given how many positions from the first are finished."""
        return self.hops is None or j == 0 or prefix >= self.horizon(j, results)

    def next(self, j: int, results: dict[int, Solution]) -> tuple[Task, int | None]:
        """Decide position j (== len(self.tasks)) from the results below its horizon: the task and, for a
        hop, the position of the solution it starts from (None if nothing converged: it starts from start 0)."""
        horizon = self.horizon(j, results)
        visible = {i: results[i] for i in range(horizon) if i in results}
        base = best_of(visible, j) if self.hops is not None else None
        waiting = self._start_candidates(visible, base is not None)
        pending = [self.tasks[i].is_hop for i in range(horizon, j)]  # decided, not yet seen
        if waiting and not (base is not None and self._hop_due(visible, pending)):
            self.taken.add(waiting[0])
            task, base = self.start_tasks[waiting[0]], None
        else:  # only with hops: without them there are never more positions than start tasks
            task = Task(self.hops.strategy)
        self.tasks.append(task)
        return task, base

    def _start_candidates(self, visible: dict[int, Solution], may_hop: bool) -> list[int]:
        """The start tasks not yet handed out that may come next, in order: with hops, only the first
        strategy's while every search so far has reached one minimum (unless none of those is left and no hop
        can run instead)."""
        waiting = [i for i in range(len(self.start_tasks)) if i not in self.taken]
        if self.hops is not None and census_of(list(visible.values()))[1] < 2:
            probe = [i for i in waiting if self.start_tasks[i].strategy == self.start_tasks[0].strategy]
            if probe or may_hop:
                return probe
        return waiting

    def _hop_due(self, visible: dict[int, Solution], pending: list[bool]) -> bool:
        """The rule of the class docstring; a task decided but not yet seen (``pending``: whether each is a hop)
        counts at the mean cost seen for its kind, so that the split does not lag PLAN_AHEAD positions."""
        spent = {True: 0.0, False: 0.0}
        seen = {True: 0, False: 0}
        wins = {True: 0, False: 0}
        best = np.inf
        for i in sorted(visible):
            sol, is_hop = visible[i], self.tasks[i].is_hop
            spent[is_hop] += cost(sol)
            seen[is_hop] += 1
            if not (sol.success and np.isfinite(sol.objective)):
                continue
            if best == np.inf:
                best = sol.objective  # the first minimum found is no win over anything
            elif sol.objective < best - DISTINCT_TOLERANCE * max(1.0, abs(best)):
                wins[is_hop] += 1
                best = sol.objective
        overall = (spent[True] + spent[False]) / max(1, seen[True] + seen[False])
        for is_hop in pending:
            spent[is_hop] += spent[is_hop] / seen[is_hop] if seen[is_hop] else overall
        return spent[True] * (1 + wins[False]) < spent[False] * (1 + wins[True])


def hop_guess(base: Solution, hops: Hops, seed: int, position: int) -> InitialGuess:
    """The best solution's controls moved by scale x rms x N(0, 1), seeded by (seed, position)."""
    controls = np.asarray(base.controls, dtype=float)
    size = hops.scale * float(np.sqrt(np.mean(controls**2)) or 1.0)
    noise = np.random.default_rng([seed, 7919, position]).standard_normal(controls.shape)
    return InitialGuess(controls=controls + size * noise, free_parameters=dict(base.free_parameters), T=base.T)


def best_of(results: dict[int, Solution], upto: int) -> int | None:
    """Position of the best converged solve among positions < ``upto`` (None if none converged)."""
    done = [j for j, sol in results.items() if j < upto and sol.success and np.isfinite(sol.objective)]
    return min(done, key=lambda j: (results[j].objective, j)) if done else None


def spread(objectives: Sequence[float], succeeded: Sequence[bool]) -> dict[str, Any]:
    """Best, median, worst and number of distinct optima (objectives more than DISTINCT_TOLERANCE apart,
    relative) over the converged solves."""
    converged = np.sort([f for f, ok in zip(objectives, succeeded, strict=True) if ok and np.isfinite(f)])
    if converged.size == 0:
        return {"converged": 0, "best": None, "median": None, "worst": None, "distinct": 0}
    gaps = np.diff(converged) > DISTINCT_TOLERANCE * np.maximum(1.0, np.abs(converged[1:]))
    return {
        "converged": int(converged.size),
        "best": float(converged[0]),
        "median": float(np.median(converged)),
        "worst": float(converged[-1]),
        "distinct": int(1 + gaps.sum()),
    }


def census_of(solutions: Sequence[Solution]) -> tuple[int, int, int]:
    """(local searches that converged, distinct minima among them, how many reached the best)."""
    summary = spread([sol.objective for sol in solutions], [sol.success for sol in solutions])
    if not summary["converged"]:
        return 0, 0, 0
    best = summary["best"]
    hits = sum(sol.success and sol.objective - best <= DISTINCT_TOLERANCE * max(1.0, abs(best)) for sol in solutions)
    return summary["converged"], summary["distinct"], int(hits)


class StoppingRule:
    """When to stop handing out tasks: ``confidence`` reached on the finished prefix of the task order,
    the ``time_budget`` spent, or every task solved. ``reason`` says which; ``prefix`` how many tasks
    count (after a confidence stop the tasks past the deciding prefix are left out of the answer, so
    that it does not depend on which solves happened to finish first)."""

    def __init__(self, n_tasks: int, confidence: float | None, time_budget: float | None, begin: float):
        self.n_tasks, self.confidence, self.time_budget, self.begin = n_tasks, confidence, time_budget, begin
        self.reason, self.prefix = "", n_tasks
        self.checked = 0  # prefixes up to this one have been looked at

    def verdict(self, results: dict[int, Solution], errors: dict[int, str]) -> str:
        if self.reason:
            return self.reason
        prefix = finished_prefix(results, errors, self.n_tasks)
        # every prefix in turn: when two solves finish together the answer is still the first prefix that
        # reaches the confidence, as with one worker
        while self.confidence is not None and self.checked < prefix and not self.reason:
            self.checked += 1
            n, w, _ = census_of([results[j] for j in range(self.checked) if j in results])
            if estimate(n, w).probability_best_is_global >= self.confidence:
                self.reason, self.prefix = "confidence reached", self.checked
        if not self.reason and prefix == self.n_tasks:
            self.reason = "every solve run" if self.confidence is None else "solve budget spent"
        if not self.reason and self.time_budget is not None and time.perf_counter() - self.begin > self.time_budget:
            self.reason = "time budget spent"
        return self.reason

    def interrupt(self) -> None:
        """Ctrl-C: every solve finished so far counts."""
        self.reason, self.prefix = "interrupted", self.n_tasks

    @property
    def interrupted(self) -> bool:
        return self.reason == "interrupted"

    def kept(self, results: dict[int, Solution]) -> dict[int, Solution]:
        return {j: sol for j, sol in results.items() if j < self.prefix}

    def report(self, kept: dict[int, Solution]) -> dict[str, Any]:
        n, w, hits = census_of(list(kept.values()))
        return {
            "stop_reason": self.reason,
            "confidence": self.confidence,
            "local_searches": n,
            "best_hits": hits,
            "estimate": estimate(n, w).as_dict(),
        }


def finished_prefix(results: dict[int, Any], errors: dict[int, Any], n_tasks: int) -> int:
    """How many tasks from the first are finished (solved or lost) without a gap."""
    prefix = 0
    while prefix < n_tasks and (prefix in results or prefix in errors):
        prefix += 1
    return prefix


def labelled(solution: Solution, task: Task, base: int | None) -> Solution:
    """A hop's solution says so in ``start`` (a start's already names its strategy)."""
    if not task.is_hop:
        return solution
    return replace(solution, start=replace(solution.start, strategy=f"hop ({task.strategy.strategy})", hop_from=base))
