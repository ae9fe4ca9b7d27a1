"""A fuzzer: the shipped configs and data files, mutated, go through `ocp solve`'s validation.

Every mutation (a key dropped, an unknown key added, a value replaced by one of
another type or by an extreme or non-finite number, a section flattened or a
value nested) and every broken data file (NaN, inf, empty cells, ragged rows,
words, no rows) must either pass validation or end with exit code 2, a
one-line message and nothing written: never a traceback. The solve itself is
replaced by a sentinel, so that a config that passes costs no solve. The
examples are derandomised: CI meets the same ones on every run.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path
from unittest import mock

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocp.cli import main
from ocp.sweep import load_sweep

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
ALL_CONFIGS = sorted(CONFIGS.glob("*.yaml"))
SOLVE_CONFIGS = [p for p in ALL_CONFIGS if not ({"sweep", "base"} & set(yaml.safe_load(p.read_text())))]
SWEEP_CONFIGS = [p for p in ALL_CONFIGS if p not in SOLVE_CONFIGS]
EXTREMES = [0, -1, 2.5, 10**30, 1e300, -1e300, 1e-300, float("nan"), float("inf"), float("-inf"), True, False]
OTHER_TYPES = ["3", "", "text", None, [], {}, [1, 2], {"a": 1}, [[0.5]]]
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 60)),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class SolveReached(Exception):
    """The config passed validation: `ocp solve` would now solve it."""


def key_paths(node, prefix=()):
    """Every path to a value in nested mappings (and lists), as tuples of keys and indices."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from key_paths(value, (*prefix, key))


def parent_of(config, path):
    node = config
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def mutated_configs(draw, sources):
    source = draw(st.sampled_from(sources))
    config = yaml.safe_load(source.read_text())
    for _ in range(draw(st.integers(1, 3))):
        paths = list(key_paths(config))
        path = draw(st.sampled_from(paths))
        parent, key = parent_of(config, path), path[-1]
        kind = draw(st.sampled_from(["drop", "add", "extreme", "other type", "flatten", "nest"]))
        if kind == "drop":
            parent.pop(key) if isinstance(parent, dict) else parent.pop(key)
        elif kind == "add":
            target = parent if isinstance(parent, dict) else config
            target[draw(st.sampled_from(["epochs", "lamda", "Kk", "seed_", "n"]))] = draw(st.sampled_from(EXTREMES))
        elif kind == "extreme":
            parent[key] = draw(st.sampled_from(EXTREMES))
        elif kind == "other type":
            parent[key] = draw(st.sampled_from(OTHER_TYPES))
        elif kind == "flatten":  # a section replaced by a scalar
            parent[key] = draw(st.sampled_from([1, "yes", 0.5]))
        else:  # a value wrapped in a section
            parent[key] = {"value": parent[key]}
        if not config:
            break
    return source.name, config


def validate(tmp: Path, config) -> tuple[str | int, str, Path]:
    """Run `ocp solve` on ``config`` up to the solve: ('valid', '', out) or (exit code, stderr, out)."""
    path, out = tmp / "config.yaml", tmp / "out"
    path.write_text(yaml.safe_dump(config) if isinstance(config, dict) else config)
    err = io.StringIO()
    with mock.patch("ocp.cli.solve_run", side_effect=SolveReached), contextlib.redirect_stderr(err):
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                return main(["solve", str(path), "--out", str(out)]), err.getvalue(), out
            except SolveReached:
                return "valid", "", out


def assert_clean(outcome: str | int, err: str, out: Path, what: str) -> None:
    if outcome == "valid":
        return
    assert outcome == 2, f"{what}: exit {outcome}: {err}"
    assert err.startswith("ocp: ") and len(err.strip().splitlines()) == 1, f"{what}: {err}"
    assert "Traceback" not in err and not out.exists(), what


@FUZZ
@given(case=mutated_configs(SOLVE_CONFIGS))
def test_mutated_solve_configs_pass_or_exit_2_with_one_line(case, tmp_path_factory):
    name, config = case
    outcome, err, out = validate(tmp_path_factory.mktemp("fuzz"), config)
    assert_clean(outcome, err, out, f"{name} mutated to {json.dumps(config, default=str)[:300]}")


@FUZZ
@given(case=mutated_configs(SWEEP_CONFIGS))
def test_mutated_sweep_configs_are_refused_with_a_config_error_or_accepted(case, tmp_path_factory):
    """A sweep checks every point of its grid up front (`load_sweep`); its `base:` is read beside it, so the
    mutated sweep is written into a copy of the configs directory."""
    from ocp.errors import ConfigError

    name, config = case
    copy = tmp_path_factory.mktemp("configs")
    for shipped in ALL_CONFIGS:
        (copy / shipped.name).write_text(shipped.read_text())
    path = copy / name
    path.write_text(yaml.safe_dump(config))
    try:
        load_sweep(path)
    except ConfigError as err:
        assert str(err) and "\n" not in str(err).strip(), f"{name}: {err}"


CELLS = ["0.5", "-1", "1", "2e-3", "nan", "inf", "-inf", "", "abc", "1e309", " 0.25 "]


def points_file_config(path: Path) -> dict:
    """A small l2 config that reads its points from ``path``."""
    return {
        "problem": "l2",
        "T": 2.0,
        "K": 4,
        "data": {"source": "file", "path": str(path), "n_test": 1},
        "multistart": {"starts": 1},
    }


@st.composite
def broken_csv(draw):
    header = draw(st.booleans())
    width = draw(st.integers(1, 4))
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        columns = width + draw(st.sampled_from([0, 0, 0, -1, 1]))  # now and then a ragged row
        rows.append(",".join(draw(st.sampled_from(CELLS)) for _ in range(max(columns, 1))))
    return "\n".join((["x1,x2,label"] if header else []) + rows) + draw(st.sampled_from(["", "\n", "\n\n"]))


@FUZZ
@given(text=broken_csv())
def test_broken_data_files_pass_or_exit_2_naming_the_file(text, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("data")
    data = tmp / "points.csv"
    data.write_text(text)
    config = points_file_config(data)
    outcome, err, out = validate(tmp, config)
    assert_clean(outcome, err, out, f"data file {text!r}")
    if outcome == 2 and "data" in err:
        assert "data.path" in err or "data.n_test" in err, err


ARRAY_VALUES = [0.5, -1.0, 2e-3, float("nan"), float("inf"), 1e308, 0.0]


@st.composite
def broken_npz(draw, names: tuple[str, ...]):
    """An .npz archive with arrays named from ``names`` (some dropped, one unknown added now and then), each
    of a random shape, dtype and values; or, one time in six, the bytes of a valid archive cut short."""
    n = draw(st.integers(0, 8))
    arrays = {}
    for name in names:
        if draw(st.integers(0, 5)) == 0:
            continue  # an array missing
        shape = draw(st.sampled_from([(n,), (n, 2), (n, 1), (n + 1, 2), (2, n), (), (n, 2, 2), (0,)]))
        kind = draw(st.sampled_from(["float", "float", "int", "bool", "complex", "text"]))
        values = np.asarray(draw(st.lists(st.sampled_from(ARRAY_VALUES), min_size=1, max_size=1)) * max(1, n * 4))
        values = np.resize(values, shape)
        if kind == "int":
            values = np.arange(values.size).reshape(shape)
        elif kind == "bool":
            values = values > 0
        elif kind == "complex":
            values = values + 1j
        elif kind == "text":
            values = np.full(shape, "abc")
        arrays[name] = values
    if draw(st.booleans()):
        arrays["extra"] = np.zeros(3)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    if draw(st.integers(0, 5)) == 0:
        data = data[: draw(st.integers(0, max(0, len(data) - 1)))]  # a file cut short
    return data


@FUZZ
@given(data=broken_npz(("X", "y")))
def test_broken_npz_data_files_pass_or_exit_2(data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("npz")
    path = tmp / "points.npz"
    path.write_bytes(data)
    config = points_file_config(path)
    outcome, err, out = validate(tmp, config)
    assert_clean(outcome, err, out, f"npz data file of {len(data)} bytes")


@FUZZ
@given(data=broken_npz(("time", "member", "x")))
def test_broken_npz_time_series_pass_or_exit_2(data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("npz")
    path = tmp / "record.npz"
    path.write_bytes(data)
    config = {"problem": "timeseries", "data": {"source": "file", "path": str(path)}}
    outcome, err, out = validate(tmp, config)
    assert_clean(outcome, err, out, f"npz time series of {len(data)} bytes")
