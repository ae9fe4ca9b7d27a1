"""The solves a global search has handed to its executor's workers and not got back yet (`multistart.py`).

A worker stuck inside one long IPOPT iteration cannot be stopped by its clock, and a process pool cannot
lose one worker and go on: the workers are replaced and the other running solves handed out again (a solve
is a pure function of its start and task, so the answer stays the same). A solve lost with a dead worker
runs again alone, so that a second death is surely its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from typing import Any

from ocp.executors import RETRIES_AFTER_WORKER_DEATH, Executor
from ocp.problem.guess import InitialGuess
from ocp.search.plan import Task
from ocp.solvers.solution import Solution


@dataclass
class Handed:
    """A solve handed to a worker: enough to hand it out again."""

    position: int
    guess: InitialGuess | Solution
    task: Task
    context: dict[str, Any]
    since: float = field(default_factory=time.perf_counter)
    retries: int = 0  # times handed out again after its worker died


class Running:
    """The solves on ``pool``'s workers, each ``solve(guess, task, context)`` (module docstring)."""

    def __init__(self, pool: Executor, solve: Callable) -> None:
        self.pool = pool
        self._solve = solve
        self.handed: dict[Any, Handed] = {}
        self.suspects: list[Handed] = []  # lost with a dead worker, waiting to run alone

    def submit(self, position: int, guess: InitialGuess | Solution, task: Task, context: dict[str, Any]) -> None:
        self._hand(Handed(position, guess, task, context))

    def _hand(self, handed: Handed) -> None:
        self.handed[self.pool.submit(self._solve, handed.guess, handed.task, handed.context)] = handed

    def hand_out_again(self, handed: Handed, err: Exception) -> bool:
        """A solve lost because a worker of the pool died: its own, or another one (a broken pool fails every
        task it holds). It is queued to run again alone, so that a second death is surely its own (then False:
        it is an error)."""
        if not isinstance(err, BrokenProcessPool) or handed.retries >= RETRIES_AFTER_WORKER_DEATH:
            return False
        self.suspects.append(replace(handed, retries=handed.retries + 1))
        return True

    def run_suspect_alone(self) -> bool:
        """While solves lost with a dead worker wait, nothing else is handed out: each runs when the pool is
        idle (a local pool replaces itself after a death). True while any wait or run."""
        if self.suspects and not self.handed:
            self._hand(replace(self.suspects.pop(0), since=time.perf_counter()))
        return bool(self.suspects) or any(h.retries for h in self.handed.values())

    def overdue(self, limit: Callable[[Task], float]) -> list[tuple[int, float]]:
        """Take out the solves running longer than ``limit(task)`` seconds: (position, seconds run)."""
        now = time.perf_counter()
        late = [f for f, handed in self.handed.items() if now - handed.since > limit(handed.task)]
        return [(handed.position, now - handed.since) for handed in map(self.handed.pop, late)]

    def replace_workers(self, resubmit: bool = True) -> None:
        """Fresh workers; with ``resubmit`` the solves that were running start again on them."""
        again = list(self.handed.values()) if resubmit else []
        self.handed.clear()
        self.pool.replace_workers()
        for handed in again:
            self.submit(handed.position, handed.guess, handed.task, handed.context)
