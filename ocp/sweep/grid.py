"""The ``sweep:`` section of a config: which fields take which values, and in what order.

A sweep config is an ordinary config (or ``base: FILE`` plus overrides) with::

    sweep:
      grid:
        T: [1, 2, 4, 8, 16]                 # a list
        lambda: {logspace: [1e-4, 1e-1, 4]} # first, last, count (log-spaced)
        data.n_train: {range: [100, 400, 100]}  # first, last (inclusive), step
        K: {rule: "round(2 * T)"}           # coupled: a formula in other axes
      chain: T            # warm-start order: neighbours in T (default: T if swept)
      order: ascending    # or descending (continuation in lambda: from large to small)
      warm_start: true    # false solves every point from the config's start

Any field may be swept; a dotted name reaches into a section. The points are
the product of the independent axes; a ``rule`` axis is computed from them.
A chain is the set of points equal in every axis but the chain axis, ordered
by it: each point is warm-started from its predecessor in the chain. Without
warm starts every point is a chain of its own, so all can run in parallel.
"""

from __future__ import annotations

import ast
import itertools
import math
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ocp.errors import ConfigError

SWEEP_KEYS = ("grid", "chain", "order", "warm_start", "warm_limit")
WARM_LIMIT = 10.0  # default: a warm solve slower than 10 x its chain's cold solve is given up for a cold one
SPECS = ("range", "linspace", "logspace", "rule")


@dataclass(frozen=True)
class Point:
    """One grid point: its index, the value of every axis, its chain and place in it."""

    index: int
    values: Mapping[str, Any]
    chain: int = 0
    position: int = 0

    @property
    def id(self) -> str:
        return f"p{self.index:04d}"

    def label(self) -> str:
        return ", ".join(f"{k}={_short(v)}" for k, v in self.values.items())


@dataclass(frozen=True)
class Grid:
    axes: Mapping[str, tuple[Any, ...]]  # independent axes and their values
    rules: Mapping[str, str] = field(default_factory=dict)  # coupled axes: name -> formula
    chain_axis: str | None = None
    warm_start: bool = True
    descending: bool = False
    warm_limit: float = WARM_LIMIT  # a warm solve running longer than this x the chain's cold solve goes cold

    def points(self) -> list[Point]:
        """Every point, numbered in grid order, with its chain and position in it."""
        names = list(self.axes)
        raw = []
        for combo in itertools.product(*(self.axes[n] for n in names)):
            values = dict(zip(names, combo, strict=True))
            for name, formula in self.rules.items():
                values[name] = _evaluate(formula, values, f"sweep.grid.{name}")
            raw.append(values)
        chains: dict[tuple, list[int]] = {}
        for i, values in enumerate(raw):
            key = tuple(_key(v) for n, v in values.items() if n != self.chain_axis and n not in self.rules)
            chains.setdefault(key if self.warm_start else (i,), []).append(i)  # cold: every point on its own
        placed: dict[int, tuple[int, int]] = {}
        for c, members in enumerate(chains.values()):
            if self.chain_axis is not None:
                members = sorted(members, key=lambda i: _order(raw[i][self.chain_axis]), reverse=self.descending)
            for position, i in enumerate(members):
                placed[i] = (c, position)
        return [Point(i, raw[i], *placed[i]) for i in range(len(raw))]


def parse_grid(section: Any) -> Grid:
    """Validate ``sweep:`` (shape only: each point's values are checked as a config later)."""
    if not isinstance(section, Mapping):
        raise ConfigError("'sweep' must be a mapping with a 'grid' (see `ocp sweep --help`)")
    unknown = [k for k in section if k not in SWEEP_KEYS]
    if unknown:
        raise ConfigError(f"unknown key 'sweep.{unknown[0]}'; allowed keys: {', '.join(SWEEP_KEYS)}")
    grid = section.get("grid")
    if not isinstance(grid, Mapping) or not grid:
        raise ConfigError("'sweep.grid' must be a non-empty mapping of field -> values")
    axes: dict[str, tuple[Any, ...]] = {}
    rules: dict[str, str] = {}
    for name, spec in grid.items():
        where = f"sweep.grid.{name}"
        if name in ("problem", "base", "sweep"):
            raise ConfigError(f"{where!r}: '{name}' cannot be swept")
        if isinstance(spec, Mapping) and "rule" in spec:
            if set(spec) != {"rule"} or not isinstance(spec["rule"], str):
                raise ConfigError(f'{where!r}: a rule is {{rule: "FORMULA"}}, e.g. {{rule: "0.01 / T"}}')
            rules[name] = spec["rule"]
        else:
            axes[name] = _values(spec, where)
    if not axes:
        raise ConfigError("'sweep.grid' needs at least one axis that is not a rule")
    for name, formula in rules.items():  # check the formulas once on the first point
        _evaluate(formula, {n: v[0] for n, v in axes.items()}, f"sweep.grid.{name}")
    chain = section.get("chain", "T" if "T" in axes else next(iter(axes)))
    if chain not in axes:
        raise ConfigError(f"'sweep.chain' must name an independent grid axis ({', '.join(axes)}), got {chain!r}")
    warm = section.get("warm_start", True)
    if not isinstance(warm, bool):
        raise ConfigError(f"'sweep.warm_start' must be true or false, got {warm!r}")
    order = section.get("order", "ascending")
    if order not in ("ascending", "descending"):
        raise ConfigError(f"'sweep.order' must be 'ascending' or 'descending', got {order!r}")
    limit = section.get("warm_limit", WARM_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not math.isfinite(limit) or limit < 1:
        raise ConfigError(f"'sweep.warm_limit' must be a finite number >= 1 (times the cold solve), got {limit!r}")
    return Grid(axes, rules, chain, warm, order == "descending", float(limit))


def _values(spec: Any, where: str) -> tuple[Any, ...]:
    if isinstance(spec, list | tuple):
        if not spec:
            raise ConfigError(f"{where!r} is an empty list: give at least one value")
        return tuple(spec)
    if isinstance(spec, Mapping):
        if len(spec) != 1 or next(iter(spec)) not in SPECS:
            raise ConfigError(f"{where!r}: a range is one of {{{', '.join(f'{s}: [...]' for s in SPECS[:3])}}}")
        kind, args = next(iter(spec.items()))
        if (
            not isinstance(args, list | tuple)
            or len(args) != 3
            or not all(isinstance(a, int | float) and not isinstance(a, bool) for a in args)
        ):
            third_name = "step" if kind == "range" else "count"
            raise ConfigError(f"{where}.{kind!r} must be three numbers [first, last, {third_name}]")
        first, last, third = args
        if kind == "range":
            if not third > 0 or last < first:
                raise ConfigError(f"{where}.range: needs step > 0 and last >= first, got {list(args)}")
            count = int(math.floor((last - first) / third + 1e-9)) + 1
            values = [first + i * third for i in range(count)]
        else:
            if not (isinstance(third, int) and third >= 1):
                raise ConfigError(f"{where}.{kind}: the count must be an integer >= 1, got {third!r}")
            if kind == "logspace":
                if not (first > 0 and last > 0):
                    raise ConfigError(f"{where}.logspace: first and last must be > 0, got {list(args)}")
                values = list(np.geomspace(first, last, third))
            else:
                values = list(np.linspace(first, last, third))
        ints = all(isinstance(a, int) for a in args) and kind == "range"
        return tuple(int(v) if ints else float(v) for v in values)
    return (spec,)  # a single value


_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
_FUNCTIONS = {"sqrt": math.sqrt, "log": math.log, "exp": math.exp, "round": round}


def _evaluate(formula: str, values: Mapping[str, Any], where: str) -> Any:
    """A rule's value: + - * / ** on numbers, other axes (by name) and sqrt/log/exp/round."""
    names = {}
    text = formula
    for i, name in enumerate(sorted(values, key=len, reverse=True)):  # 'lambda' is no Python name
        alias = f"_axis{i}"
        pattern = r"(?<![\w.])" + re.escape(name) + r"(?![\w.])"
        if re.search(pattern, text):
            text = re.sub(pattern, alias, text)
            names[alias] = values[name]
    try:
        tree = ast.parse(text, mode="eval")
        value = _node(tree.body, names)
    except (SyntaxError, ValueError, TypeError, ZeroDivisionError, OverflowError) as err:
        raise ConfigError(f"{where!r}: cannot evaluate rule {formula!r} ({err})") from None
    return value  # an integer field (K) takes round(...), which gives an int


def _node(node: ast.AST, names: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise ValueError(f"unknown name {node.id!r}: a rule may use the other axes of the grid")
        value = names[node.id]
        if not isinstance(value, int | float):
            raise ValueError(f"axis value {value!r} is not a number")
        return value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_node(node.left, names), _node(node.right, names))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_node(node.operand, names))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        return _FUNCTIONS[node.func.id](*(_node(a, names) for a in node.args))
    raise ValueError(f"{ast.dump(node)[:40]} is not allowed (numbers, axis names, + - * / **, sqrt log exp round)")


def _order(value: Any) -> tuple:
    """Sort key of a chain axis: numbers by value; anything else after them (checked later as config)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, repr(value))


def _key(value: Any) -> Any:
    return repr(value) if isinstance(value, dict | list) else value


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
