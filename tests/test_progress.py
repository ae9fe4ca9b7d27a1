"""The one progress channel (`ocp/progress.py`): log records carrying a tally, shown as plain lines, or as a
bar on a terminal by the CLI's handler (`ocp/logs.py`)."""

from __future__ import annotations

import io
import logging
import math

from ocp.logs import show_messages
from ocp.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_lines_say_the_tally_in_words_and_estimate_the_time_left(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    with show_messages():
        job = Progress(logging.getLogger("ocp.sweep"), total=4, unit="points", already=1, parallel=2)
        first = job.finished("p1: done", wall_s=10.0)
        job.finished("an extra, not counted", counts=False)
        second = job.finished("p2: failed", failed=True, wall_s=20.0)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[sweep] p1: done (2/4 points, 0 failed, ")
    assert lines[1].startswith("[sweep] an extra, not counted (2/4 points, 0 failed")
    assert lines[2].startswith("[sweep] p2: failed (3/4 points, 1 failed")
    # the mean unit of this run (10 s, then 15 s) x the units left (2, then 1) / 2 run side by side
    assert first.left_s == 10.0 and second.left_s == 7.5
    assert math.isnan(Progress(logging.getLogger("ocp"), 3, "draws").finished("x", counts=False).left_s)


def test_on_a_terminal_the_bar_stays_on_the_last_line_under_every_message(monkeypatch):
    out = _Terminal()
    monkeypatch.setattr("sys.stdout", out)
    with show_messages():
        job = Progress(logging.getLogger("ocp"), total=2, unit="draws")
        job.finished("  draw 1 (adam): Solve_Succeeded", wall_s=1.0)
        logging.getLogger("problems.learning").info("a message from another logger")
        job.finished("  draw 2 (simulate): Solve_Succeeded", wall_s=1.0)
    text = out.getvalue()
    clear = "\r\033[K"
    parts = text.split(clear)
    assert parts[1].startswith("[ocp]   draw 1 (adam): Solve_Succeeded\n[###############...............] 1/2 draws")
    assert parts[2].startswith("[learning] a message from another logger\n[###############") and "1/2 draws" in parts[2]
    assert parts[3].startswith("[ocp]   draw 2 (simulate): Solve_Succeeded\n[" + "#" * 30 + "] 2/2 draws")
    assert text.endswith("\n") and "(1/2 draws" not in text  # the tally is in the bar, not in the lines
