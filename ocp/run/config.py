"""Typed, validated settings read from YAML at the edge (CLI, sweeps).

Settings are frozen dataclasses, for the ``ocp`` sections the library's own
option classes (`ocp/options.py`); ``parse`` checks a mapping against one and
raises `ConfigError` naming the field (``dynamics.activation``), what it
expected and what it got. Types (``Literal`` for a list of choices) and field
metadata carry the checks: ``gt``/``ge``/``lt`` (numeric bounds), ``key``
(the YAML spelling, e.g. ``lambda``), ``config: False`` (not a config key).
Checks across fields are the class's own (its ``__post_init__``); their
ProblemError comes back as a ConfigError under the section's name.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml

from ocp.errors import ConfigError, ProblemError
from ocp.options import bound_violation, is_config_field


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads 1e-3 as a float (YAML 1.1 demands 1.0e-3)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"),
    list("-+0123456789."),
)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; a missing or malformed file is a `ConfigError`."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a directory, not a config file")
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.load(path.read_text(), Loader=_Loader)
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot be read ({err})") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})".replace("\n", " ")) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings")
    return data


def field_key(f: dataclasses.Field) -> str:
    return f.metadata.get("key", f.name)


def keys(cls: type) -> list[str]:
    return [field_key(f) for f in dataclasses.fields(cls) if is_config_field(f)]


def parse(cls: type, data: Mapping[str, Any] | None, where: str = "") -> Any:
    """Build dataclass ``cls`` from ``data``, checking keys, types and bounds."""
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(data).__name__}")
    allowed = keys(cls)
    unknown = [k for k in data if k not in allowed]
    if unknown:
        raise ConfigError(f"unknown key {_path(where, unknown[0])!r}; allowed keys: {', '.join(allowed)}")
    hints = typing.get_type_hints(cls)
    values = {}
    for f in filter(is_config_field, dataclasses.fields(cls)):
        key = field_key(f)
        name = _path(where, key)
        if key not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"missing required key {name!r}")
            continue
        value = _convert(hints[f.name], data[key], name)
        problem = bound_violation(f, value)
        if problem:
            raise ConfigError(f"{name!r} {problem}, got {value!r}")
        values[f.name] = value
    try:
        return cls(**values)
    except ProblemError as err:  # the class's own checks across fields (and IPOPT's verdict on its options)
        text = str(err)
        raise ConfigError(text if not where or text.startswith(f"{where} ") else f"{where}.{text}") from None


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _describe(tp: Any) -> str:
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp))


def _convert(tp: Any, value: Any, name: str) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(option, value, name)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{name!r}: {value!r} matches none of {options}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{name!r} must be {_describe(tp)}; got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return parse(tp, value, name)
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{name!r} must be a list, got {type(value).__name__} {value!r}")
        return tuple(_convert(args[0], v, f"{name}[{i}]") for i, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{name!r} must be a mapping, got {type(value).__name__}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name!r} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name!r} must be an integer, got {type(value).__name__} {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{name!r} must be a number, got {type(value).__name__} {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name!r} must be a string, got {type(value).__name__} {value!r}")
        return value
    raise TypeError(f"settings field {name!r} has an unsupported type {tp}")
