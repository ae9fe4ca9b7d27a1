"""Progress of a long job made of many units: a search's local searches, a sweep's points.

One `Progress` per job. Each finished unit is one log record on the job's
logger (never a print: `logs.py`), its message the unit's line followed by the
tally in words, "(5/23 draws, 0 failed, 41 s elapsed, ~120 s left)". The record
also carries the tally itself (``record.progress``), so that the CLI's handler,
when stdout is a terminal, shows the line and redraws a bar under it instead
(`logs.show_messages`); a notebook, a log file or CI gets the plain lines.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Tally:
    """Where a job stands: ``done`` of ``total`` units (``unit``: "points", "draws"), ``failed`` among them."""

    unit: str
    done: int
    total: int
    failed: int
    elapsed_s: float
    left_s: float  # nan while nothing is known

    def words(self) -> str:
        left = "" if math.isnan(self.left_s) else f", ~{self.left_s:.0f} s left"
        return f"{self.done}/{self.total} {self.unit}, {self.failed} failed, {self.elapsed_s:.0f} s elapsed{left}"

    def bar(self, width: int = 30) -> str:
        filled = min(width, int(width * self.done / max(self.total, 1)))
        return f"[{'#' * filled}{'.' * (width - filled)}] {self.words()}"


class Progress:
    """A job of ``total`` units on ``logger``, ``already`` of them done before this run (a resumed sweep),
    run ``parallel`` at a time."""

    def __init__(self, logger: logging.Logger, total: int, unit: str, already: int = 0, parallel: int = 1) -> None:
        self.logger, self.total, self.unit, self.parallel = logger, total, unit, max(1, parallel)
        self.done, self.already, self.failed = already, already, 0
        self.begin = time.perf_counter()
        self.unit_seconds = 0.0  # the counted units' own wall times, this run

    def finished(
        self, line: str, *, counts: bool = True, failed: bool = False, wall_s: float = 0.0, left: float | None = None
    ) -> Tally:
        """A unit (or, with ``counts`` False, something beside the units, e.g. a search's extra) finished;
        ``line`` says what, ``wall_s`` how long it took. The time left is the mean unit's time x ``left``
        (None: the units left / parallel)."""
        if counts:
            self.done += 1
            self.failed += failed
            self.unit_seconds += wall_s
        solved = self.done - self.already
        units_left = (self.total - self.done) / self.parallel if left is None else left
        left_s = self.unit_seconds / solved * max(0, units_left) if solved else float("nan")
        tally = Tally(self.unit, self.done, self.total, self.failed, time.perf_counter() - self.begin, left_s)
        self.logger.info(f"{line} ({tally.words()})", extra={"progress": tally, "progress_line": line})
        return tally
