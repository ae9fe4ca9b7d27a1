"""Where independent solves run: in this process, in local worker processes, or on a Dask cluster.

The global search (`search/multistart.py`) and the sweeps (`sweep/runner.py`)
both hand out work through one of these and drive it the same way on each:

- ``set_up(fn, *args)``: each worker runs ``fn(*args)`` once before its first
  task (the search builds its NLP there, once per worker process);
- ``submit(fn, *args)`` -> a future; ``wait_any(futures, timeout)`` -> the
  finished ones (none when the timeout passes first);
- ``shared_value(x)``: a number the caller sets and running tasks read (the
  search's patience cutoffs, which stop a running IPOPT solve);
- ``restart()`` after a worker died, ``replace_workers()`` when a task is
  stuck where no clock can stop it (its worker is ended, the others too),
  ``abort()`` on Ctrl-C, ``close()`` at the end.

Tasks and results are plain picklable objects, so a Dask worker on another
machine needs only this package installed, not the caller's CasADi objects.
"""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_all_start_methods, get_context
from typing import Any, Literal, Protocol

from ocp.errors import ConfigError
from ocp.processes import end_pool, unnoticed_death, worker_setup

ExecutorName = Literal["local", "dask"]
RETRIES_AFTER_WORKER_DEATH = 1  # a task lost with its worker is handed out again this often (it may be the cause)
LIVENESS_CHECK_S = 1.0  # how often a wait looks for a dead worker its pool has not noticed (`end_pool`)
STUCK_AFTER_S = 2.0  # a pool that has not noticed a dead worker by then never will
REMOTE_READ_EVERY_S = 0.5  # a Dask task re-reads a shared value at most this often (a scheduler round trip)


class Shared(Protocol):
    value: float


class Executor(Protocol):
    workers: int
    describe: str

    def set_up(self, fn, /, *args) -> None: ...
    def submit(self, fn, /, *args) -> Any: ...
    def wait_any(self, futures, timeout: float | None = None) -> set: ...
    def shared_value(self, initial: float) -> Shared: ...
    def restart(self) -> None: ...
    def replace_workers(self) -> None: ...
    def abort(self) -> None: ...
    def close(self) -> None: ...


class _Value:
    """A shared value within one process."""

    def __init__(self, value: float) -> None:
        self.value = value


class InProcess:
    """workers = 1: each task run here, one at a time, when the caller waits for it."""

    workers = 1
    describe = "in this process"

    def __init__(self) -> None:
        self._pending: dict[Future, tuple] = {}

    def set_up(self, fn, /, *args) -> None:
        fn(*args)

    def submit(self, fn, /, *args) -> Future:
        future: Future = Future()
        self._pending[future] = (fn, args)
        return future

    def wait_any(self, futures, timeout: float | None = None) -> set:
        future = next(f for f in futures if f in self._pending)
        fn, args = self._pending.pop(future)
        try:
            future.set_result(fn(*args))
        except Exception as err:  # like a pool: the task's exception comes back with its future
            future.set_exception(err)
        return {future}

    def shared_value(self, initial: float) -> Shared:
        return _Value(initial)

    def restart(self) -> None:
        pass

    def replace_workers(self) -> None:
        pass

    def abort(self) -> None:
        self._pending.clear()

    def close(self) -> None:
        self._pending.clear()


def default_start_method() -> str:
    """fork where the platform has it (no ``if __name__ == '__main__'`` needed in the caller's script), else
    spawn (then the caller's script needs that guard, as for any multiprocessing code)."""
    return "fork" if "fork" in get_all_start_methods() else "spawn"


class LocalProcesses:
    """Worker processes on this machine. ``start`` "spawn" gives each a fresh interpreter with no inherited
    CasADi state (the sweeps); "fork" inherits the caller's imports (the search: no main guard needed)."""

    def __init__(self, workers: int, start: str = "spawn") -> None:
        self.workers = workers
        self.describe = f"{workers} local worker processes"
        self._context = get_context(start)
        self._setup: tuple | None = None
        self._pool: ProcessPoolExecutor | None = None  # made at the first task, after set_up and shared values
        self._death_seen_at: float | None = None

    def set_up(self, fn, /, *args) -> None:
        self._setup = (fn, args)

    def _ready(self) -> ProcessPoolExecutor:
        self.restart()  # a task handed out after a worker died goes to a fresh pool
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=self._context, initializer=_start_local, initargs=(os.getpid(), self._setup)
            )
        return self._pool

    def submit(self, fn, /, *args) -> Future:
        return self._ready().submit(fn, *args)

    def wait_any(self, futures, timeout: float | None = None) -> set:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = float("inf") if deadline is None else max(0.0, deadline - time.monotonic())
            step = min(LIVENESS_CHECK_S, left)
            done = wait(futures, timeout=step, return_when=FIRST_COMPLETED)[0]
            if done:
                return done
            if self._check_liveness():
                continue  # the stuck pool's futures have failed: they are done now
            if deadline is not None and time.monotonic() >= deadline:
                return done

    def _check_liveness(self) -> bool:
        """A worker killed while sending its result can leave the pool waiting forever (`end_pool`):
        then its futures fail as for any dead worker (True), and the next task starts a fresh pool."""
        if self._pool is None or not unnoticed_death(self._pool):
            self._death_seen_at = None
        elif self._death_seen_at is None:
            self._death_seen_at = time.monotonic()
        elif time.monotonic() - self._death_seen_at > STUCK_AFTER_S:
            end_pool(self._pool)  # its futures fail as for any dead worker
            self._pool, self._death_seen_at = None, None
            return True
        return False

    def shared_value(self, initial: float) -> Shared:
        # shared memory, inherited by the workers through set_up's arguments (made before the pool)
        return self._context.Value("d", initial, lock=False)

    def restart(self) -> None:
        """After a worker died: a fresh pool for the tasks still to come (once per broken pool)."""
        if self._pool is not None and getattr(self._pool, "_broken", False):
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def replace_workers(self) -> None:
        """End every worker now (their running tasks are lost) and start fresh ones for the next tasks."""
        self.abort()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def abort(self) -> None:
        """Ctrl-C or a stuck task: end the workers now, running or not (the next task starts a fresh pool)."""
        if self._pool is not None:
            end_pool(self._pool)
            self._pool = None


def _start_local(parent: int, setup: tuple | None) -> None:
    worker_setup(parent)
    if setup is not None:
        fn, args = setup
        fn(*args)


@dataclass(frozen=True)
class _Setup:
    """What each Dask worker runs once before its first task of this executor (``token`` tells them apart)."""

    token: str
    fn: Any
    args: tuple


_DONE_ON_THIS_WORKER: set[str] = set()  # the tokens of the `_Setup`s this Dask worker process has run


def _run_after_setup(setup: _Setup | None, fn, *args):
    if setup is not None and setup.token not in _DONE_ON_THIS_WORKER:
        setup.fn(*setup.args)
        _DONE_ON_THIS_WORKER.add(setup.token)
    return fn(*args)


class _DaskValue:
    """A shared value held by the Dask scheduler (a ``Variable``); tasks read it at most every
    REMOTE_READ_EVERY_S, the caller writes it."""

    def __init__(self, initial: float) -> None:
        self.name = f"ocp-shared-{uuid.uuid4().hex}"
        self._value, self._read_at = initial, float("-inf")
        self._variable().set(initial)

    def _variable(self):
        from dask.distributed import Variable

        return Variable(self.name)

    @property
    def value(self) -> float:
        if time.monotonic() - self._read_at > REMOTE_READ_EVERY_S:
            self._value, self._read_at = float(self._variable().get()), time.monotonic()
        return self._value

    @value.setter
    def value(self, new: float) -> None:
        self._value, self._read_at = float(new), time.monotonic()
        self._variable().set(float(new))

    def __getstate__(self):
        return {"name": self.name, "_value": self._value, "_read_at": float("-inf")}


class DaskCluster:
    """A Dask ``LocalCluster`` started here, or the scheduler at ``address`` (any deployment)."""

    def __init__(self, workers: int, address: str | None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError("the dask executor needs the dask extra: pip install '.[dask]'") from None
        self._cluster = None
        if address:
            self._client = Client(address)
            self.workers = len(self._client.scheduler_info()["workers"]) or workers
            self.describe = f"the Dask cluster at {address} ({self.workers} workers)"
        else:
            self._cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
            )
            self._client = Client(self._cluster)
            self.workers = workers
            self.describe = f"a Dask LocalCluster of {workers} workers"
        self._setup: _Setup | None = None
        self._scattered = None

    def set_up(self, fn, /, *args) -> None:
        self._setup = _Setup(uuid.uuid4().hex, fn, args)
        self._scattered = self._client.scatter(self._setup, broadcast=True)  # sent once, not with every task

    def submit(self, fn, /, *args):
        return self._client.submit(_run_after_setup, self._scattered, fn, *args, pure=False)

    def wait_any(self, futures, timeout: float | None = None) -> set:
        from dask.distributed import wait as dask_wait

        try:
            return set(dask_wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED").done)
        except TimeoutError:
            return set()

    def shared_value(self, initial: float) -> Shared:
        return _DaskValue(initial)

    def restart(self) -> None:
        pass  # Dask reschedules a dead worker's tasks itself

    def replace_workers(self) -> None:
        """Restart every worker process (a running task cannot be stopped otherwise); the set-up goes again."""
        self._client.restart()
        if self._setup is not None:
            self._scattered = self._client.scatter(self._setup, broadcast=True)  # a restart drops held data

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def abort(self) -> None:
        pass  # close() follows: the client's tasks are released with it and a local cluster's workers end


def make_executor(
    kind: ExecutorName, workers: int | None, address: str | None = None, start: str = "spawn"
) -> Executor:
    """``kind`` "local": this process for one worker, else ``workers`` local processes (default: one per
    core); "dask": a Dask LocalCluster of ``workers``, or the running scheduler at ``address``."""
    workers = workers or os.cpu_count() or 1
    if kind == "dask":
        return DaskCluster(workers, address)
    if address:
        raise ConfigError("a scheduler address is for the dask executor")
    return InProcess() if workers == 1 else LocalProcesses(workers, start)
