"""Which extra local search comes next: a bandit over the kinds of extra, by what each found here per cost.

The draws that the coverage claim counts follow a fixed mixture of strategies
(`plan.py`). Every other local search, an extra, is given to one of these arms:

- ``hop``: basin hopping from the best solution so far (`tasks.Hops`);
- one arm per strategy of the mixture: the caller's guess with it (first
  pull), then random starts with it (an "extra start");
- one arm per first-start strategy (a continuation in lambda): the caller's
  guess, once.

No order among them is fixed in advance (an order chosen on one benchmark set
did not carry over to data the project did not have: issue 30). Every arm of
which no solve has been seen is pulled first, the one-shot arms before the
others (a strategy arm has usually been seen through the draws). After that,
an arm whose share of the extras has fallen below MIN_SHARE of an even split
is pulled next; otherwise the arm with the highest upper confidence bound on
new bests found per unit of cost (UCB1 on the rate of new bests, scaled by the
arm's mean cost against all solves'):

    index(a) = [ (wins_a + 1) / (n_a + 2) + sqrt(2 ln(n + 1) / (n_a + 1)) ] x mean cost / mean cost_a

where n_a counts every visible solve of the arm's kind (a strategy arm learns
from the draws of its strategy too), wins_a those that found a new best
(lower than every earlier position by more than the distinct tolerance; the
first minimum found is no win) and costs are `tasks.cost` (IPOPT iterations,
deterministic, so the choice repeats for a seed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ocp.search.minima import converged, is_better
from ocp.search.strategies import Initialization
from ocp.search.tasks import Role, Task, cost
from ocp.solvers.solution import Solution

MIN_SHARE = 0.5  # of an even split of the extras: every arm keeps at least this share


@dataclass(frozen=True)
class Arm:
    """A kind of extra local search: ``name`` is "hop", a strategy's name, or "once:<strategy>"."""

    name: str
    strategy: Initialization
    once: bool = False  # pulled at most once (a first-start strategy: deterministic from the guess)


def arms_of(mixture: Sequence[Initialization], first_start: Sequence[Initialization], hops) -> list[Arm]:
    """The arms, in the order untried ones are pulled: the one-shot ones, hops, then the mixture's."""
    arms = [Arm(f"once:{s.strategy}", s, once=True) for s in first_start]
    if hops is not None:
        arms.append(Arm("hop", hops.strategy))
    return arms + [Arm(s.strategy, s) for s in mixture]


@dataclass
class ArmStats:
    solves: int = 0
    wins: int = 0
    spent: float = 0.0
    pulls: int = 0  # extras given to it


def statistics(arms: Sequence[Arm], tasks: Sequence[Task], visible: dict[int, Solution], pulls: dict[str, int]):
    """Per arm: solves seen, new bests found, cost spent, extras given (``pulls``)."""
    stats = {arm.name: ArmStats(pulls=pulls.get(arm.name, 0)) for arm in arms}
    best = math.inf
    for j in sorted(visible):
        sol = visible[j]
        name = arm_of(tasks[j], arms)
        win = False
        if converged(sol):
            win = best < math.inf and is_better(sol.objective, best)
            best = min(best, sol.objective)
        if name in stats:
            s = stats[name]
            s.solves, s.wins, s.spent = s.solves + 1, s.wins + win, s.spent + cost(sol)
    return stats


def arm_of(task: Task, arms: Sequence[Arm]) -> str | None:
    """The arm of ``arms`` a finished solve informs (None for a warm start)."""
    if task.role == Role.HOP:
        return "hop"
    if task.role == Role.WARM:
        return None
    once = f"once:{task.strategy.strategy}"
    if task.role == Role.GUESS and any(arm.name == once for arm in arms):
        return once
    return task.strategy.strategy


def choose(arms: Sequence[Arm], stats: dict[str, ArmStats], available: Sequence[Arm]) -> Arm:
    """The next arm among ``available`` (module docstring)."""
    untried = [arm for arm in available if stats[arm.name].pulls == 0 and (arm.once or stats[arm.name].solves == 0)]
    if untried:
        return untried[0]
    repeatable = [arm for arm in available if not arm.once] or list(available)
    extras = sum(s.pulls for s in stats.values())
    floor = MIN_SHARE * extras / len(repeatable)
    short = [arm for arm in repeatable if stats[arm.name].pulls < floor]
    if short:
        return min(short, key=lambda arm: (stats[arm.name].pulls, repeatable.index(arm)))
    seen = [s for s in stats.values() if s.solves]
    n = sum(s.solves for s in seen)
    mean_cost = sum(s.spent for s in seen) / max(1, n)

    def index(arm: Arm) -> float:
        s = stats[arm.name]
        arm_cost = s.spent / s.solves if s.solves else mean_cost
        bound = (s.wins + 1) / (s.solves + 2) + math.sqrt(2.0 * math.log(n + 1) / (s.solves + 1))
        return bound * mean_cost / max(arm_cost, 1e-12)

    return max(repeatable, key=lambda arm: (index(arm), -repeatable.index(arm)))
