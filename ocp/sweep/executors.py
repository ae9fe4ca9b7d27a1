"""Where sweep points run: in this process, in local worker processes, or on a Dask cluster.

All three take ``submit(task)`` and ``wait_any(futures)``; the runner drives
the chains the same way on each. Tasks and results are plain picklable
objects (a config mapping, a `Solution`), so a Dask worker on another machine
needs only this package installed, not the caller's CasADi objects.
"""

from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context

from ocp.errors import ConfigError
from ocp.processes import end_pool, worker_setup
from ocp.sweep.worker import Task, solve_point


class InProcess:
    """workers = 1: each point solved here, one at a time, when the runner waits for it."""

    workers = 1
    describe = "in this process"

    def __init__(self) -> None:
        self._pending: dict[Future, Task] = {}

    def submit(self, task: Task) -> Future:
        future: Future = Future()
        self._pending[future] = task
        return future

    def wait_any(self, futures) -> set:
        future = next(f for f in futures if f in self._pending)
        future.set_result(solve_point(self._pending.pop(future)))
        return {future}

    def restart(self) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


class LocalProcesses:
    """Worker processes on this machine (spawned: a fresh interpreter, no inherited CasADi state)."""

    def __init__(self, workers: int):
        self.workers = workers
        self.describe = f"{workers} local worker processes"
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers, mp_context=get_context("spawn"), initializer=worker_setup, initargs=(os.getpid(),)
        )

    def submit(self, task: Task) -> Future:
        return self._pool.submit(solve_point, task)

    def wait_any(self, futures) -> set:
        return wait(futures, return_when=FIRST_COMPLETED)[0]

    def restart(self) -> None:
        """After a worker died: a fresh pool for the points still to solve (once per broken pool)."""
        if getattr(self._pool, "_broken", False):
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def abort(self) -> None:
        """Ctrl-C: end the workers now (their points are solved again on resume)."""
        end_pool(self._pool)


class DaskCluster:
    """A Dask ``LocalCluster`` started here, or the scheduler at ``address`` (any deployment)."""

    def __init__(self, workers: int, address: str | None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError("--executor dask needs the dask extra: pip install '.[dask]'") from None
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

    def submit(self, task: Task):
        return self._client.submit(solve_point, task, pure=False)

    def wait_any(self, futures) -> set:
        from dask.distributed import wait as dask_wait

        return set(dask_wait(list(futures), return_when="FIRST_COMPLETED").done)

    def restart(self) -> None:
        pass  # Dask reschedules a dead worker's tasks itself

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def abort(self) -> None:
        pass  # close() follows: the client's tasks are released with it and a local cluster's workers end


def make_executor(kind: str, workers: int | None, address: str | None = None):
    workers = workers or os.cpu_count() or 1
    if kind == "dask":
        return DaskCluster(workers, address)
    if address:
        raise ConfigError("--scheduler is for --executor dask")
    return InProcess() if workers == 1 else LocalProcesses(workers)
