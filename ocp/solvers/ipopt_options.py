"""IPOPT's own verdict on option names and values, asked before any real NLP is built.

CasADi passes ``ipopt`` options through to IPOPT, which refuses an unknown
name or a bad value only when the solver is created, with a message from deep
inside CasADi (and the valid settings printed on stdout). Here each option is
tried alone on a one-variable NLP, so the error names the option.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any

import casadi as ca

from ocp.errors import ProblemError


def check_ipopt_options(options: Mapping[str, Any]) -> None:
    """ProblemError naming the first option IPOPT refuses, as ``ipopt.NAME``."""
    where = "ipopt"
    for name, value in options.items():
        if not isinstance(name, str):
            raise ProblemError(f"{where}: option names must be strings, got {name!r}")
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ProblemError(f"{where}.{name}: IPOPT options are numbers or strings, got {value!r}")
        reason = _refusal(name, value)
        if reason:
            raise ProblemError(f"{where}.{name}: {reason}")


@functools.lru_cache(maxsize=512)
def _refusal(name: str, value: str | int | float) -> str | None:
    x = ca.MX.sym("x")
    options = {"ipopt": {"print_level": 0, "sb": "yes", name: value}, "print_time": False}
    try:
        with _stdout_silenced():
            ca.nlpsol("ipopt_option_check", "ipopt", {"x": x, "f": x**2}, options)
    except RuntimeError as err:
        text = str(err)
        if "No such IPOPT option" in text:
            return "IPOPT has no option of that name (see IPOPT's options reference)"
        if "type mismatch" in text:
            return f"IPOPT expects another type for this option, got {type(value).__name__} {value!r}"
        return f"IPOPT refuses the value {value!r}"
    return None


@contextmanager
def _stdout_silenced():
    """IPOPT prints its complaint (and the valid settings) from C, on file descriptor 1."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
