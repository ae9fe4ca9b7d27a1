"""Worker processes that behave: Ctrl-C is their parent's to handle, and they exit when the parent dies.

The local process pools (`executors.py`, used by the search and the sweeps)
start every worker with `worker_setup` and end a pool with `end_pool` when
its work must stop now (Ctrl-C, a solve stuck in one long IPOPT iteration):
a pool's own shutdown waits for the running tasks. `unnoticed_death` finds
the one death CPython's pool misses (a worker killed while sending its
result), and `end_pool` is safe from it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import process as _cpython_pool
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

PARENT_POLL_S = 1.0  # how often a worker checks that its parent is alive
EOF_WAIT_S = 5.0  # how long a stuck pool's manager thread gets to read end-of-file and fail its futures
PR_SET_PDEATHSIG = 1  # prctl(2)


def worker_setup(parent: int) -> None:
    """First thing in every worker process (a pool's initializer; ``parent``: the pid of the process that made
    the pool, passed in because the parent may already be gone when a spawned worker gets here)."""
    # Ctrl-C reaches the whole process group; the parent ends the workers itself and keeps what they finished
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    if os.getppid() != parent:  # died while this worker was starting
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent:  # re-parented: the parent is gone (even a SIGKILL leaves no other trace)
                os._exit(1)

    # the portable fallback: a thread that looks; it cannot run while a solve holds the GIL in C code
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when its parent dies, even inside a long IPOPT call. (The pools
    start their workers from the main thread, whose end is what the kernel watches.)"""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # no prctl: the watching thread remains
        pass


def end_pool(executor: ProcessPoolExecutor) -> None:
    """Terminate the pool's worker processes now, running or not; their tasks fail with BrokenProcessPool.

    Safe where CPython's pool (3.8-3.13) would hang: a worker killed half-way through sending its result
    (by the system, or by this very termination) leaves the pool's manager thread waiting for the rest of
    the message forever, and with it every future of the pool, the pool's own shutdown and the
    interpreter's exit. Closing this process's end of the result pipe after the workers are gone gives
    that thread end-of-file: it then fails the futures as for any dead worker. Where another process still
    holds the pipe (one forked since), the futures are failed here and the thread is left behind
    unregistered, so that nothing waits for it.
    """
    processes = list((getattr(executor, "_processes", None) or {}).values())
    result_queue = getattr(executor, "_result_queue", None)
    thread = getattr(executor, "_executor_manager_thread", None)
    if not processes and thread is None:  # not CPython's layout (Python >= 3.14 has the method)
        getattr(executor, "terminate_workers", lambda: None)()
        executor.shutdown(wait=True, cancel_futures=True)
        return
    executor.shutdown(wait=False)  # no new task starts; the queued ones fail with the running ones below
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5.0)
    if result_queue is not None:
        result_queue._writer.close()
    if thread is not None:
        thread.join(timeout=EOF_WAIT_S)
    if thread is None or not thread.is_alive():
        return
    broken = BrokenProcessPool("a worker process died while sending its result")
    pending = getattr(executor, "_pending_work_items", {})  # shared with the thread, which must not fail them again
    for item in list(pending.values()):
        if not item.future.done():
            item.future.set_exception(broken)
    pending.clear()
    executor._broken = str(broken)
    # CPython 3.11-3.12 wait at exit for the threads of two registries; later versions for every thread
    _cpython_pool._threads_wakeups.pop(thread, None)
    getattr(threading, "_shutdown_locks", set()).discard(getattr(thread, "_tstate_lock", None))


def unnoticed_death(executor: ProcessPoolExecutor) -> bool:
    """A worker of the pool has exited and the pool is not broken. Normally a pool notices a dead worker
    within milliseconds; it never does when the worker died while sending its result (`end_pool`)."""
    if getattr(executor, "_broken", False) or getattr(executor, "_shutdown_thread", False):
        return False
    processes = list((getattr(executor, "_processes", None) or {}).values())
    return any(process.exitcode is not None for process in processes)


_OPEN_FLAGS: list[threading.Event] = []  # the flags of the `sigint_flag` blocks open now, outermost first


@contextmanager
def sigint_flag():
    """Within the block, Ctrl-C sets the returned Event instead of raising KeyboardInterrupt (outside the main
    thread, where Python handles no signals, the Event is simply never set). The caller checks it; code
    that cannot see the Event (a solve inside an in-process sweep) asks `interrupt_requested`."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: flag.set())
    _OPEN_FLAGS.append(flag)
    try:
        yield flag
    finally:
        _OPEN_FLAGS.remove(flag)
        signal.signal(signal.SIGINT, previous)


def interrupt_requested() -> bool:
    """Ctrl-C came during a `sigint_flag` block of this process that is still open (at any depth)."""
    return any(flag.is_set() for flag in _OPEN_FLAGS)
