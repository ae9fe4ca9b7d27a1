"""Worker processes that behave: Ctrl-C is their parent's to handle, and they exit when the parent dies.

The local process pools (`executors.py`, used by the search and the sweeps)
start every worker with `worker_setup` and end a pool with `end_pool` when
its work must stop now (Ctrl-C, a solve stuck in one long IPOPT iteration):
a pool's own shutdown waits for the running tasks.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

PARENT_POLL_S = 1.0  # how often a worker checks that its parent is alive
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
