"""Independent solves handed to an executor's workers: one path for the search's local searches and the
sweep's points, with one rule for a worker that dies and one rule for a solve that runs too long.

- **A worker dies.** A process pool that loses one worker fails every job it holds, so a lost job may be
  innocent. Each lost job waits to run again *alone*, when nothing else runs (`run_suspect_alone`); only a
  job whose worker dies while it runs alone is failed. A job is a pure function of its arguments, so the
  answer of a job run again is the same.
- **A solve runs too long.** A limit is a factor times a typical duration, never below `MIN_TIME_LIMIT_S`
  (`time_limit`): the search gives up a local search slower than ``patience`` x the median of its kind,
  a sweep a warm solve slower than ``sweep.warm_limit`` x its chain's cold solve. The solve's own stop
  predicate reads the limit; a job still running well past it (inside one long IPOPT iteration, where
  no predicate is asked) is taken out (`overdue`) and its worker replaced.

On the worker's side, `WORKER_SOLVERS` keeps the process's built solvers by build key (one build serves
every job of the same NLP), each built with the process's one `Deadline` as its stop predicate; a job
says how long its solve may run by ``WORKER_SOLVERS.deadline.running(limit)``.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from typing import Any

from ocp.executors import RETRIES_AFTER_WORKER_DEATH, Executor
from ocp.processes import interrupt_requested

MIN_TIME_LIMIT_S = 3.0  # no solve is given up sooner: the durations of short solves are mostly noise


def time_limit(factor: float, typical_s: float) -> float:
    """The limit for a solve whose kind typically takes ``typical_s`` seconds: ``factor`` times that, and at
    least MIN_TIME_LIMIT_S."""
    return max(MIN_TIME_LIMIT_S, factor * typical_s)


@dataclass
class Handed:
    """A job on a worker: the caller's ``key`` for it and what ``fn`` is called with, to hand it out again."""

    key: Hashable
    args: tuple
    since: float = field(default_factory=time.perf_counter)
    retries: int = 0  # times handed out again after its worker died


class Dispatch:
    """The jobs ``fn(*args)`` handed to ``pool`` and not yet collected (module docstring)."""

    def __init__(
        self,
        pool: Executor,
        fn: Callable,
        on_lost: Callable[[Handed, Exception], None] | None = None,
        losses: tuple[type[Exception], ...] = (BrokenProcessPool,),
    ) -> None:
        """``on_lost(job, error)`` is told of each job lost and queued to run alone. ``losses``: the errors that
        mean a lost worker rather than a failing job (a job that turns every failure of its own into a result,
        as a sweep point does, counts every error as a loss)."""
        self.pool = pool
        self._losses = losses
        self._fn = fn
        self._on_lost = on_lost
        self.handed: dict[Any, Handed] = {}
        self.suspects: list[Handed] = []  # lost with a dead worker, waiting to run alone

    def submit(self, key: Hashable, *args: Any) -> None:
        self._hand(Handed(key, args))

    def _hand(self, handed: Handed) -> None:
        self.handed[self.pool.submit(self._fn, *handed.args)] = handed

    def running(self) -> list[Hashable]:
        return [handed.key for handed in self.handed.values()]

    def collect(self, timeout: float | None = None) -> Iterator[tuple[Handed, Any, Exception | None]]:
        """The jobs that finish within ``timeout``: (job, result, None), or (job, None, error) for a job that
        raised or was lost with its worker and will not run again (`lost`)."""
        for future in self.pool.wait_any(list(self.handed), timeout=timeout):
            handed = self.handed.pop(future)
            try:
                yield handed, future.result(), None
            except Exception as err:
                if not self.lost(handed, err):
                    yield handed, None, err

    def lost(self, handed: Handed, err: Exception) -> bool:
        """A job failed by a dead worker (its own, or another's: a broken pool fails every job it holds) is
        queued to run again alone (True); a job that fails otherwise, or dies again alone, is failed."""
        if not isinstance(err, self._losses) or handed.retries >= RETRIES_AFTER_WORKER_DEATH:
            return False
        self.pool.restart()
        self.suspects.append(replace(handed, retries=handed.retries + 1))
        if self._on_lost is not None:
            self._on_lost(handed, err)
        return True

    def run_suspect_alone(self) -> bool:
        """While jobs lost with a dead worker wait, nothing else is handed out: each runs when the pool is
        idle. True while any wait or run (the caller then hands out nothing)."""
        if self.suspects and not self.handed:
            self._hand(replace(self.suspects.pop(0), since=time.perf_counter()))
        return bool(self.suspects) or any(h.retries for h in self.handed.values())

    def overdue(self, limit: Callable[[Hashable], float]) -> list[tuple[Hashable, float]]:
        """Take out the jobs running longer than ``limit(key)`` seconds: (key, seconds run)."""
        now = time.perf_counter()
        late = [f for f, handed in self.handed.items() if now - handed.since > limit(handed.key)]
        return [(handed.key, now - handed.since) for handed in map(self.handed.pop, late)]

    def replace_workers(self, resubmit: bool = True) -> None:
        """Fresh workers; with ``resubmit`` the jobs that were running start again on them."""
        again = list(self.handed.values()) if resubmit else []
        self.handed.clear()
        self.pool.replace_workers()
        for handed in again:
            self._hand(replace(handed, since=time.perf_counter()))


class Deadline:
    """When this worker's running solve is to stop: the stop predicate (`passed`) of every solver the worker
    builds. Outside `running`, only Ctrl-C (in a process that handles it) stops a solve."""

    def __init__(self) -> None:
        self._started = time.perf_counter()
        self._limit: Callable[[], float] = _never

    @contextlib.contextmanager
    def running(self, limit_s: float | Callable[[], float]) -> Iterator[None]:
        """Inside the block, a solve stops once it has run ``limit_s`` seconds (a callable: read at every
        check, for a limit that moves while the solve runs, as the search's patience does)."""
        self._started = time.perf_counter()
        self._limit = limit_s if callable(limit_s) else (lambda: limit_s)
        try:
            yield
        finally:
            self._limit = _never

    def passed(self) -> bool:
        return time.perf_counter() - self._started > self._limit() or interrupt_requested()


def _never() -> float:
    return float("inf")


class WorkerSolvers:
    """This process's built solvers by build key (`ocp/nlp/fingerprint.py`), the most recently used last. Each
    build holds an NLP's memory, so the oldest goes beyond ``size``; a sweep's chains share a few keys (one
    per K or data set), and a search has one."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.deadline = Deadline()
        self._built: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str, build: Callable[[Callable[[], bool]], Any]) -> tuple[Any, bool]:
        """(the solver for ``key``, True if it was built now by ``build(stop_when)``)."""
        built = key not in self._built
        if built:
            self._built[key] = build(self.deadline.passed)
            while len(self._built) > self.size:
                self._built.popitem(last=False)
        self._built.move_to_end(key)
        return self._built[key], built

    def __contains__(self, key: str) -> bool:
        return key in self._built


WORKER_SOLVERS = WorkerSolvers(size=4)  # one per process: in a worker, or here for an in-process run
