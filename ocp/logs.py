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


class _Prefixed(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"[{record.name.rsplit('.', 1)[-1]}] {record.getMessage()}"


class _Stdout(logging.Handler):
    """Writes to whatever ``sys.stdout`` is at the time (pytest and contextlib.redirect_stdout swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stdout.write(self.format(record) + "\n")
        sys.stdout.flush()


@contextlib.contextmanager
def show_messages() -> Iterator[None]:
    """Inside the block, print the toolkit's INFO messages on stdout, one line each (the CLI's choice);
    afterwards the loggers are as they were, so calling the CLI's ``main`` from a program leaves no handler."""
    saved = {}
    for name in ROOTS:
        logger = logging.getLogger(name)
        saved[name] = (logger.handlers[:], logger.level)
        if not any(isinstance(h, _Stdout) for h in logger.handlers):
            handler = _Stdout()
            handler.setFormatter(_Prefixed())
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for name, (handlers, level) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level)


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
