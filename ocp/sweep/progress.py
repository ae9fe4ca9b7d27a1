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

    def point(self, line: str, failed: bool) -> None:
        """A point finished; ``line`` describes it."""
        self.done += 1
        self.failed += failed
        elapsed = time.perf_counter() - self.begin
        solved = self.done - self.already
        left = elapsed / solved * (self.total - self.done) if solved else float("nan")
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
