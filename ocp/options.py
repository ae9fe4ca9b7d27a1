"""Option classes that are also the config schema: each field declares its check once, in its metadata.

A library option class (`SolverOptions`, `GradientFlowOptions`,
`Initialization`, ...) declares a bound with `positive`, `at_least` or
`open_interval` and a list of choices as a ``Literal`` type, and calls
`check_fields` in its ``__post_init__``: the Python API then refuses what a
config refuses, with the same rule. `ocp.run.config.parse` reads the same
types and metadata to turn YAML into these very classes and to name the
YAML field in its message (``'solver.max_iter' must be >= 1``). A field made
with `internal` is not a config key.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal

from ocp.errors import ProblemError


def positive(default: Any, **extra: Any) -> Any:
    """A field that must be > 0."""
    return dataclasses.field(default=default, metadata={"gt": 0, **extra})


def open_interval(low: float, high: float, default: Any) -> Any:
    """A field that must lie strictly between ``low`` and ``high`` (a probability, say)."""
    return dataclasses.field(default=default, metadata={"gt": low, "lt": high})


def at_least(bound: float, default: Any, **extra: Any) -> Any:
    """A field that must be >= ``bound``."""
    return dataclasses.field(default=default, metadata={"ge": bound, **extra})


def declared_as(cls: type, name: str, default: Any) -> Any:
    """A field with the checks of field ``name`` of the dataclass ``cls`` and another default: a config
    section that takes a library class's limits with the command line's defaults declares them so."""
    declared = next(f for f in dataclasses.fields(cls) if f.name == name)
    return dataclasses.field(default=default, metadata=declared.metadata)


def internal(default: Any) -> Any:
    """A field the library takes but a config does not (set by the program, e.g. from a CLI flag)."""
    return dataclasses.field(default=default, metadata={"config": False})


def is_config_field(f: dataclasses.Field) -> bool:
    return f.metadata.get("config", True)


def choices(tp: Any) -> tuple[Any, ...]:
    """The values a ``Literal`` type (or an optional one) allows; () for any other type."""
    if typing.get_origin(tp) is Literal:
        return typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return tuple(v for arg in typing.get_args(tp) for v in choices(arg))
    return ()


def bound_violation(f: dataclasses.Field, value: Any, kind: str = "") -> str:
    """What is wrong with ``value`` for field ``f``'s bounds ('' if nothing): 'must be > 0', ...; ``kind``
    names what it must be ('an integer ': 'must be an integer >= 1')."""
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value) and not _infinite_by_default(f):
        return "must be a finite number"  # .inf or .nan in YAML: no solve can use it
    if "gt" in f.metadata and not value > f.metadata["gt"]:
        return f"must be {kind}> {f.metadata['gt']}"
    if "ge" in f.metadata and not value >= f.metadata["ge"]:
        return f"must be {kind}>= {f.metadata['ge']}"
    if "lt" in f.metadata and not value < f.metadata["lt"]:
        return f"must be {kind}< {f.metadata['lt']}"
    return ""


def _infinite_by_default(f: dataclasses.Field) -> bool:
    """A field whose default is infinite (no limit) takes infinity; every other number must be finite."""
    return isinstance(f.default, float) and math.isinf(f.default)


def check_fields(options: Any, label: str) -> None:
    """Check every field of the dataclass ``options`` against its type's choices and its bounds; a
    ProblemError names it as '{label} {field}'."""
    hints = typing.get_type_hints(type(options))
    for f in dataclasses.fields(options):
        value, name, tp = getattr(options, f.name), f"{label} {f.name}", hints[f.name]
        allowed = choices(tp)
        if allowed and value not in allowed:
            raise ProblemError(f"{name} must be one of {allowed}, got {value!r}")
        integer = tp is int or (typing.get_origin(tp) in (typing.Union, types.UnionType) and int in typing.get_args(tp))
        if integer and value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ProblemError(f"{name} must be an integer, got {value!r}")
        problem = bound_violation(f, value, "an integer " if integer else "")
        if problem:
            raise ProblemError(f"{name} {problem}, got {value!r}")
