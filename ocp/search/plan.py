"""What a global search solves, in which order, and when it stops (`multistart.py` runs it).

Two plans share one interface (`ready`, `next`, ``total``, ``tasks``):

- `CoveragePlan` (the efforts quick, default, thorough): position 0 is the
  caller's guess with the mixture's first strategy (a warm start instead,
  when the search continues a neighbour's solution), so a search is never
  worse than the plain solve it replaces. Then draws and extras in a fixed
  pattern: with ``extra_share`` s, position j >= 1 is an extra when
  floor(j s) > floor((j - 1) s), a draw otherwise, until the draws the
  coverage target needs (`coverage.draws_needed`) are placed, or
  ``max_searches`` positions. Draw i is random start i (controls scale x
  N(0, 1) seeded by (seed, i)) with a strategy drawn uniformly from the
  mixture (seeded by (seed, STRATEGY_STREAM, i)): nothing about them depends
  on what earlier solves found, so they are independent draws of one fixed
  distribution and the claim of `coverage.py` holds for them. Which kind
  each extra is, is decided by `bandit.py` from what the solves before it
  found.
- `PortfolioPlan`: the fixed portfolio of earlier versions, start by start:
  every start of the caller's list with every strategy, start 0 also with
  the first-start strategies. No draws, so no claim.

An extra at position j is decided from the solves at positions below j - lag
+ 1 (lag: PLAN_AHEAD, or one per worker when there are more), and only once
they are all finished; draws need nothing. So the tasks, the answer and the
report are the same for a given seed whatever the timing, for any number of
workers up to PLAN_AHEAD.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from enum import StrEnum

from ocp.search.bandit import Arm, arms_of, choose, statistics
from ocp.search.minima import best_of
from ocp.search.strategies import Initialization
from ocp.search.tasks import Hops, Role, Task, draw_strategy
from ocp.solvers.solution import Solution

# positions decided ahead of the finished prefix: larger lets workers run on past a slow solve, but extras
# then see older results; 8 kept 2 workers busy past a plain IPOPT solve on two-moons data
PLAN_AHEAD = 8


class CoveragePlan:
    """Draws from the fixed mixture and extras chosen by the bandit (module docstring)."""

    def __init__(
        self,
        mixture: Sequence[Initialization],
        first_start: Sequence[Initialization],
        hops: Hops | None,
        draws: int,
        extra_share: float,
        max_searches: int | None,
        seed: int,
        lag: int,
        warm: bool = False,
    ) -> None:
        self.mixture, self.seed, self.lag = list(mixture), seed, max(1, lag)
        self.arms = arms_of(self.mixture, first_start, hops)
        self.roles = [Role.WARM if warm else Role.GUESS]
        placed = 0
        while placed < draws and (max_searches is None or len(self.roles) < max_searches):
            j = len(self.roles)
            if math.floor(j * extra_share) > math.floor((j - 1) * extra_share):
                self.roles.append(Role.EXTRA)
            else:
                self.roles.append(Role.DRAW)
                placed += 1
        self.draws_planned, self.draws_wanted = placed, draws
        self.total = len(self.roles)
        self.tasks: list[Task] = []
        self.bases: dict[int, int | None] = {}  # hop position -> the position it started from
        self.pulls: dict[str, int] = {}  # extras given to each arm
        self.guessed: set[str] = set()  # strategies the caller's guess has been solved with

    def ready(self, j: int, prefix: int, results: dict[int, Solution]) -> bool:
        return self.roles[j] != Role.EXTRA or prefix >= self._horizon(j)

    def _horizon(self, j: int) -> int:
        return max(0, j - self.lag + 1)

    def next(self, j: int, results: dict[int, Solution]) -> Task:
        """Decide position j (== len(self.tasks))."""
        role = self.roles[j]
        if role == Role.WARM:
            task = Task(self.mixture[0], Role.WARM)
        elif role == Role.GUESS:
            task = Task(self.mixture[0], Role.GUESS, 0)
            self.guessed.add(self.mixture[0].strategy)
        elif role == Role.DRAW:
            draw = sum(r == Role.DRAW for r in self.roles[: j + 1])
            task = Task(draw_strategy(self.mixture, self.seed, draw), Role.DRAW, draw)
        else:
            task = self._extra(j, results)
        self.tasks.append(task)
        return task

    def _extra(self, j: int, results: dict[int, Solution]) -> Task:
        horizon = self._horizon(j)
        visible = {i: results[i] for i in range(horizon) if i in results}
        base = best_of(visible, horizon)
        available = [arm for arm in self.arms if self._can_pull(arm, base)]
        if not available:  # only a hop was left and nothing has converged: another start instead
            available = [arm for arm in self.arms if not arm.once and arm.name != "hop"]
        arm = choose(self.arms, statistics(self.arms, self.tasks, visible, self.pulls), available)
        self.pulls[arm.name] = self.pulls.get(arm.name, 0) + 1
        return self._task_of(arm, j, base)

    def _can_pull(self, arm: Arm, base: int | None) -> bool:
        if arm.once:
            return self.pulls.get(arm.name, 0) == 0
        return arm.name != "hop" or base is not None

    def _task_of(self, arm: Arm, j: int, base: int | None) -> Task:
        if arm.name == "hop":
            self.bases[j] = base
            return Task(arm.strategy, Role.HOP)
        if arm.once or arm.strategy.strategy not in self.guessed:  # the caller's guess first
            self.guessed.add(arm.strategy.strategy)
            return Task(arm.strategy, Role.GUESS, 0)
        extra = sum(t.role == Role.EXTRA for t in self.tasks) + 1
        return Task(arm.strategy, Role.EXTRA, extra)


class PortfolioPlan:
    """Every start with every strategy, start by start; start 0 also with the first-start strategies. With
    ``warm``, start 0 is a neighbour's solution (solved once, warm) and start 1, the caller's guess, takes the
    first-start strategies."""

    def __init__(
        self,
        n_starts: int,
        strategies: Sequence[Initialization],
        first_start: Sequence[Initialization],
        max_searches: int | None,
        warm: bool = False,
    ) -> None:
        own = 1 if warm else 0
        tasks = [Task(strategies[0], Role.WARM)] if warm else []
        tasks += [Task(s, Role.PORTFOLIO, own) for s in [*strategies, *first_start]]
        tasks += [Task(s, Role.PORTFOLIO, i) for i in range(own + 1, n_starts) for s in strategies]
        self.total = min(max_searches or len(tasks), len(tasks))
        self.tasks = tasks[: self.total]
        self.bases: dict[int, int | None] = {}
        self.draws_planned = self.draws_wanted = 0

    def ready(self, j: int, prefix: int, results: dict[int, Solution]) -> bool:
        return True

    def next(self, j: int, results: dict[int, Solution]) -> Task:
        return self.tasks[j]


class StopReason(StrEnum):
    """Why a search stopped handing out local searches."""

    COVERAGE_REACHED = "coverage target reached"
    BUDGET_SPENT = "search budget spent before the coverage target"
    TIME_BUDGET_SPENT = "time budget spent"
    EVERY_SOLVE_RUN = "every solve of the portfolio run"
    INTERRUPTED = "interrupted"


class StoppingRule:
    """When to stop handing out tasks: every planned task solved (the coverage target, or the budget when
    ``max_searches`` cut the draws short), the ``time_budget`` spent, or Ctrl-C. Solves that finish after a
    stop were cut short: they are kept as candidates but not counted as draws (``cut``)."""

    def __init__(self, planner, time_budget: float | None, begin: float, portfolio: bool) -> None:
        self.planner, self.time_budget, self.begin, self.portfolio = planner, time_budget, begin, portfolio
        self.reason: StopReason | None = None
        self.cut: set[int] = set()

    def verdict(self, results: dict[int, Solution], errors: dict[int, str]) -> StopReason | None:
        if self.reason:
            return self.reason
        if finished_prefix(results, errors, self.planner.total) == self.planner.total:
            if self.portfolio:
                self.reason = StopReason.EVERY_SOLVE_RUN
            elif self.planner.draws_planned < self.planner.draws_wanted:
                self.reason = StopReason.BUDGET_SPENT
            else:
                self.reason = StopReason.COVERAGE_REACHED
        elif self.time_budget is not None and time.perf_counter() - self.begin > self.time_budget:
            self.reason = StopReason.TIME_BUDGET_SPENT
        return self.reason

    def interrupt(self) -> None:
        self.reason = StopReason.INTERRUPTED

    @property
    def interrupted(self) -> bool:
        return self.reason == StopReason.INTERRUPTED


def finished_prefix(results: dict[int, object], errors: dict[int, object], n_tasks: int) -> int:
    """How many tasks from the first are finished (solved or lost) without a gap."""
    prefix = 0
    while prefix < n_tasks and (prefix in results or prefix in errors):
        prefix += 1
    return prefix
