"""Sweep progress: a bar redrawn in place on a terminal, one line per point otherwise (logs, CI)."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, already: int, stream=None):
        self.stream = stream or sys.stdout
        self.total, self.done, self.failed = total, already, 0
        self.already = already
        self.begin = time.perf_counter()
        self.tty = self.stream.isatty()
        self.point_seconds = 0.0  # the finished points' own wall times

    def point(self, line: str, failed: bool, wall_s: float, longest_chain_left: int, workers: int) -> None:
        """A point finished; ``line`` describes it. The time left is the mean point's time x the larger of
        the points left per worker and the longest chain left (a chain's points run one after another)."""
        self.done += 1
        self.failed += failed
        self.point_seconds += wall_s
        elapsed = time.perf_counter() - self.begin
        solved = self.done - self.already
        per_point = self.point_seconds / solved if solved else float("nan")
        left = per_point * max((self.total - self.done) / max(1, workers), longest_chain_left)
        status = f"{self.done}/{self.total} done, {self.failed} failed, {elapsed:.0f} s elapsed, ~{left:.0f} s left"
        if self.tty:
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            self.stream.write(f"\r\033[K[sweep] {line}\n[{'#' * filled}{'.' * (width - filled)}] {status}")
        else:
            self.stream.write(f"[sweep] {line} ({status})\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
