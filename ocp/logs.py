"""The toolkit's messages: logged, never printed; whoever runs the library decides how to show them.

Every message goes to a logger named after the prefix it is shown with:
``ocp`` (solves and searches), ``ocp.sweep`` (sweeps), ``problems.resnet``,
``problems.learning.reproduce`` ... at INFO. The library adds no handler (so a notebook
or a user's program sees nothing unless it asks, e.g. with
``logging.basicConfig(level=logging.INFO)``); the CLI and the scripts call
`show_messages`, which prints each one on stdout as ``[prefix] message``, the
prefix being the logger name's last part. A sweep's worker collects a point's
messages with `collected` instead, into that point's log.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from collections.abc import Iterator

ROOTS = ("ocp", "problems")  # the loggers the handlers below are attached to


def _prefix(record: logging.LogRecord) -> str:
    return record.name.rsplit(".", 1)[-1]


class _Prefixed(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"[{_prefix(record)}] {record.getMessage()}"


class _Stdout(logging.Handler):
    """Writes to whatever ``sys.stdout`` is at the time (pytest and contextlib.redirect_stdout swap it). On a
    terminal, a progress record (`ocp/progress.py`) shows its line and then a bar on the last line, redrawn in
    place; other messages are written above the bar."""

    def __init__(self) -> None:
        super().__init__()
        self.bar = ""  # the bar on the terminal's last line, if any

    def emit(self, record: logging.LogRecord) -> None:
        out = sys.stdout
        tally = getattr(record, "progress", None)
        if not out.isatty():
            out.write(self.format(record) + "\n")
        else:
            line = self.format(record)
            if tally is not None:  # the line without the tally in words: the bar shows it
                line, self.bar = f"[{_prefix(record)}] {record.progress_line}", tally.bar()
            out.write("\r\033[K" + line + "\n" + self.bar)  # clear the bar, the line, the bar again below
        out.flush()

    def close(self) -> None:
        if self.bar:  # the cursor is at the end of the bar: leave it on its own line
            sys.stdout.write("\n")
            sys.stdout.flush()
            self.bar = ""
        super().close()


@contextlib.contextmanager
def show_messages() -> Iterator[None]:
    """Inside the block, print the toolkit's INFO messages on stdout, one line each (the CLI's choice);
    afterwards the loggers are as they were, so calling the CLI's ``main`` from a program leaves no handler."""
    saved = {}
    handler = _Stdout()  # one for every root: one bar on the terminal
    handler.setFormatter(_Prefixed())
    for name in ROOTS:
        logger = logging.getLogger(name)
        saved[name] = (logger.handlers[:], logger.level)
        if not any(isinstance(h, _Stdout) for h in logger.handlers):
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for name, (handlers, level) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level)
        handler.close()  # ends a bar's line


@contextlib.contextmanager
def collected() -> Iterator[io.StringIO]:
    """The toolkit's messages inside the block go to the returned buffer only (and not to the handlers
    set up before), formatted as `show_messages` shows them."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(_Prefixed())
    saved = {}
    for name in ROOTS:
        logger = logging.getLogger(name)
        saved[name] = (logger.handlers[:], logger.level, logger.propagate)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
    try:
        yield buffer
    finally:
        for name, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate
