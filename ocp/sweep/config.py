"""Reading a sweep config: ``base:`` merged with overrides, the grid, every point checked up front.

Every point's config is validated (and its problem built, which is cheap:
data and symbols, no NLP) before anything is solved, so a bad grid (an empty
list, T <= 0, a non-numeric lambda, a missing data file at one point) fails
at once with a message naming the point and the field.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocp.errors import ConfigError
from ocp.run.config import load_yaml
from ocp.run.solve import parse_config
from ocp.sweep.grid import WARM_LIMIT, Grid, Point, parse_grid


@dataclass(frozen=True)
class SweepConfig:
    path: Path
    base: dict[str, Any]  # the config every point starts from (``base:`` merged, ``sweep:`` removed)
    grid: Grid
    points: list[Point]

    @property
    def problem(self) -> str:
        return self.base["problem"]

    def point_config(self, point: Point) -> dict[str, Any]:
        return with_values(self.base, point.values)

    def digest(self) -> str:
        """Identifies the sweep's content: a re-run with another digest must not share its directory."""
        text = json.dumps({"base": self.base, "grid": self.describe()}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        grid = self.grid
        axes = {k: list(v) for k, v in grid.axes.items()}
        order = "descending" if grid.descending else "ascending"
        described = {
            "axes": axes,
            "rules": dict(grid.rules),
            "chain": grid.chain_axis,
            "order": order,
            "warm_start": grid.warm_start,
        }
        if grid.warm_limit != WARM_LIMIT:  # only when set: sweeps written before the key keep their digest
            described["warm_limit"] = grid.warm_limit
        return described


def from_summary(summary: Mapping[str, Any]) -> SweepConfig:
    """The sweep a directory's sweep.json describes (for `ocp report`, without the config file)."""
    try:
        grid = summary["grid"]
        section = {"grid": {**grid["axes"], **{k: {"rule": v} for k, v in grid["rules"].items()}}}
        section |= {"chain": grid["chain"], "order": grid.get("order", "ascending"), "warm_start": grid["warm_start"]}
        section |= {"warm_limit": grid.get("warm_limit", WARM_LIMIT)}
        parsed = parse_grid(section)
        return SweepConfig(Path(summary["config"]), dict(summary["base"]), parsed, parsed.points())
    except (KeyError, TypeError, AttributeError) as err:
        raise ConfigError(f"sweep.json does not describe a sweep (missing or malformed {err})") from None


def load_sweep(path: str | Path) -> SweepConfig:
    """The sweep config at ``path``, with every point validated."""
    path = Path(path)
    data = load_yaml(path)
    if "base" in data:
        base_path = path.parent / str(data.pop("base"))
        if not base_path.is_file():
            raise ConfigError(f"'base': config file not found: {base_path}")
        data = merge(load_yaml(base_path), data)
    if "sweep" not in data:
        raise ConfigError(f"{path}: no 'sweep' section; `ocp solve` runs a config without one")
    grid = parse_grid(data.pop("sweep"))
    if "problem" not in data:
        raise ConfigError("missing required key 'problem'; run `ocp list` for the registered problem types")
    config = SweepConfig(path, data, grid, grid.points())
    for point in config.points:
        validate_point(config, point)
    return config


def validate_point(config: SweepConfig, point: Point) -> tuple[Any, Any, Any]:
    """(run, settings, problem type) of one point; errors name the point and the field."""
    try:
        return parse_config(config.point_config(point))
    except ConfigError as err:
        raise ConfigError(f"sweep point {point.id} ({point.label()}): {err}") from None


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it, sections merged key by key."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def with_values(base: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with each dotted field of ``values`` set (``data.n_train: 400``)."""
    out = copy.deepcopy(dict(base))
    for name, value in values.items():
        *sections, key = name.split(".")
        node = out
        for i, section in enumerate(sections):
            child = node.setdefault(section, {})
            if not isinstance(child, dict):
                raise ConfigError(f"'sweep.grid.{name}': {'.'.join(sections[: i + 1])!r} is not a section")
            node = child
        node[key] = value
    return out
