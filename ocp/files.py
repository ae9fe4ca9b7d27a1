"""Writing result files: the output directory checked before any work, whole files only, strict JSON."""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ocp.errors import ConfigError


def prepare_output_dir(path: Path, flag: str = "--out") -> Path:
    """Create directory ``path`` and check that files can be written there, before any work is done:
    a ConfigError naming ``flag`` otherwise (an existing file, a path under a file, no permission)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {path}: exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        raise ConfigError(f"{flag} {path}: cannot write there ({err.strerror or err})") from None
    return path


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write to a temporary file beside ``path``, then rename it over ``path``, so that a run killed at any
    moment leaves only whole files. The file gets the permissions the user's umask gives any new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(content, bytes) else "w"
    with tempfile.NamedTemporaryFile(mode, dir=path.parent, suffix=".tmp", delete=False) as tmp:
        tmp.write(content)
    os.chmod(tmp.name, _new_file_mode())  # NamedTemporaryFile makes 0600
    os.replace(tmp.name, path)


def write_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_atomic(path, buffer.getvalue())


def to_json(payload: Any) -> str:
    """Indented strict JSON: numpy arrays as lists, numpy scalars as numbers, NaN and infinities as null."""
    return json.dumps(_plain(payload), indent=2, allow_nan=False) + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):  # a dict, or a typed report that reads as one (`ocp/solvers/records.py`)
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, bool)) or value is None:
        return value
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _plain(value.tolist())
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    number = float(value)
    return number if math.isfinite(number) else None


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask
