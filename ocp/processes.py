"""Worker processes that behave: Ctrl-C is their parent's to handle, and they exit when the parent dies.

The local process pools (`executors.py`, used by the search and the sweeps)
start every worker with `worker_setup` and end a pool with `end_pool` when
its work must stop now (Ctrl-C, a solve stuck in one long IPOPT iteration):
a pool's own shutdown waits for the running tasks. `unnoticed_death` and
`break_stuck` mend the one death CPython's pool misses (a worker killed while
sending its result).
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
    """Terminate the pool's worker processes now, running or not; their tasks are lost."""
    terminate = getattr(executor, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
    else:
        processes = list((getattr(executor, "_processes", None) or {}).values())  # CPython 3.8-3.13
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5.0)
    executor.shutdown(wait=True, cancel_futures=True)


def unnoticed_death(executor: ProcessPoolExecutor) -> bool:
    """A worker of the pool has exited and the pool is not broken. Normally a pool notices a dead worker
    within milliseconds; see `break_stuck` for when it never does."""
    if getattr(executor, "_broken", False) or getattr(executor, "_shutdown_thread", False):
        return False
    processes = list((getattr(executor, "_processes", None) or {}).values())
    return any(process.exitcode is not None for process in processes)


def break_stuck(executor: ProcessPoolExecutor) -> None:
    """Fail every future of a pool whose dead worker went unnoticed, and end the pool.

    CPython's pool (3.8-3.13) misses a worker killed half-way through sending its result: the pool's manager
    thread has read the start of the message and waits for the rest forever, so no future of the pool ever
    completes (and the interpreter's exit waits for that thread). Ending the other workers and closing this
    process's end of the result pipe gives the thread end-of-file: it then fails the futures with
    BrokenProcessPool, as for any dead worker, and the caller resubmits as it does then.
    """
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5.0)
    result_queue = getattr(executor, "_result_queue", None)
    if result_queue is not None:
        result_queue._writer.close()
    thread = getattr(executor, "_executor_manager_thread", None)
    if thread is not None:
        thread.join(timeout=EOF_WAIT_S)
    if thread is None or not thread.is_alive():
        executor.shutdown(wait=True, cancel_futures=True)
        return
    # another process still holds the pipe's write end (a fork made since): fail the futures here instead
    broken = BrokenProcessPool("a worker process died while sending its result")
    pending = getattr(executor, "_pending_work_items", {})  # shared with the thread, which must not fail them again
    for item in list(pending.values()):
        if not item.future.done():
            item.future.set_exception(broken)
    pending.clear()
    executor._broken = str(broken)
    executor.shutdown(wait=False, cancel_futures=True)
    # The thread ends when the other process closes the pipe. Until then the interpreter's exit would wait
    # for it: two registries make it wait (CPython 3.11-3.12; later versions wait until the thread ends).
    _cpython_pool._threads_wakeups.pop(thread, None)
    getattr(threading, "_shutdown_locks", set()).discard(getattr(thread, "_tstate_lock", None))


@contextmanager
def sigint_flag():
    """Within the block, Ctrl-C sets the returned Event instead of raising KeyboardInterrupt (outside the main
    thread, where Python handles no signals, the Event is simply never set). The caller checks it."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: flag.set())
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
