"""One measurement in its own process, with a time limit: a size a method cannot handle (too slow to
build, or out of memory) reports that instead of stopping the whole table, and the peak memory the
process reports is its own."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable


def in_child(target: Callable, args: tuple, limit_s: float) -> dict:
    """``target(*args, queue)`` in a spawned process, which puts one (small) dict on the queue: that dict,
    or {"failed": "over ... s"} when it ran past ``limit_s``, or {"failed": "exit code ..."} when it died."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue), daemon=True)  # dies with a normal exit
    process.start()
    process.join(limit_s)
    if process.is_alive():
        process.kill()
        return {"failed": f"over {limit_s:.0f} s"}
    return queue.get() if not queue.empty() else {"failed": f"exit code {process.exitcode}"}
