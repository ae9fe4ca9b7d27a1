"""Local worker processes: a worker that dies at the worst moment costs its tasks, never the whole run.

CPython's process pool never notices a worker killed half-way through sending its result (its manager
thread waits for the rest of the message forever), which once hung a sweep whose worker was SIGKILLed.
Each scenario runs in its own interpreter under a time limit, so a regression fails instead of hanging
the test run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCENARIO = textwrap.dedent(
    """
    import gc, multiprocessing, multiprocessing.queues, os, struct, sys, time
    from ocp.executors import LocalProcesses

    def die_while_sending_result():
        # the start of a 1 MiB result message on the pool's result pipe, then death
        queue = next(o for o in gc.get_objects() if type(o) is multiprocessing.queues.SimpleQueue)
        queue._writer._send(struct.pack("!i", 1 << 20) + b"partial")
        os._exit(9)

    def square(x):
        time.sleep(0.2)
        return x * x

    if __name__ == "__main__":
        start, other_holder = sys.argv[1], sys.argv[2] == "holder"
        pool = LocalProcesses(2, start)
        futures = {pool.submit(die_while_sending_result), pool.submit(square, 3)}
        if other_holder:  # a process forked now also holds the result pipe's write end: no end-of-file
            time.sleep(0.1)
            holder = multiprocessing.get_context("fork").Process(target=time.sleep, args=(30,), daemon=True)
            holder.start()
        began = time.monotonic()
        failed = 0
        while futures and time.monotonic() - began < 30:
            for future in pool.wait_any(list(futures), timeout=1.0):
                futures.discard(future)
                failed += type(future.exception()).__name__ == "BrokenProcessPool"
        print("failed", failed, "left", len(futures), flush=True)
        pool.restart()
        again = pool.submit(square, 4)
        pool.wait_any([again], timeout=30)
        print("after", again.result(), flush=True)
        pool.close()
        print("closed", flush=True)
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="injects the fault through a fork-started pool's pipe")
@pytest.mark.parametrize(("start", "pipe"), [("fork", "alone"), ("spawn", "alone"), ("fork", "holder")])
def test_a_worker_dying_while_sending_its_result_fails_its_pool_instead_of_hanging(tmp_path, start, pipe):
    """Both tasks of the stuck pool fail with BrokenProcessPool (the callers' cue to resubmit), the next
    task runs in a fresh pool, and the interpreter exits; "holder": the fallback when another process keeps
    the pipe open."""
    script = tmp_path / "scenario.py"
    script.write_text(SCENARIO)
    result = subprocess.run(
        [sys.executable, str(script), start, pipe],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == ["failed", "2", "left", "0", "after", "16", "closed"], result.stderr
