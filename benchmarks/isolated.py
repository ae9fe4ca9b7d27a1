"""One measurement in its own process, with a time limit: a size a method cannot handle (too slow to
build, or out of memory) reports that instead of stopping the whole table, and the peak memory the
process reports is its own. The child dies with its parent, however the parent ends (on Linux): a
benchmark stopped by a signal left its worker running for 45 minutes beside later measurements."""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when its parent thread ends


def in_child(target: Callable, args: tuple, limit_s: float) -> dict:
    """``target(*args, queue)`` in a spawned process, which puts one (small) dict on the queue: that dict,
    or {"failed": "over ... s"} when it ran past ``limit_s``, or {"failed": "exit code ..."} when it died."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_orphan_proof, args=(os.getpid(), target, (*args, queue)), daemon=True)
    process.start()
    try:
        process.join(limit_s)
        timed_out = process.is_alive()
    finally:  # also on Ctrl-C or an error in the parent: the child goes too
        if process.is_alive():
            process.kill()
            process.join()
    if timed_out:
        return {"failed": f"over {limit_s:.0f} s"}
    return queue.get() if not queue.empty() else {"failed": f"exit code {process.exitcode}"}


def _orphan_proof(parent: int, target: Callable, args: tuple) -> None:
    """``target(*args)``, killed when the parent ends (SIGTERM or SIGKILL included, which skip its cleanup)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent ended before the request took effect
            os._exit(1)
    target(*args)
