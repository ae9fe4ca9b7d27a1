"""Data sets: the concentric-sphere (annulus) set of docs/science.md, XOR, two spirals, and files (CSV, .npz)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """Points ``x`` (N, d) with labels ``y`` (N, m); classification labels are in {-1, +1}."""

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        x = np.atleast_2d(np.asarray(self.x, dtype=float))
        y = np.asarray(self.y, dtype=float)
        y = y if y.ndim == 2 else y.reshape(len(y), -1)  # (0, m) stays: an empty test set
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"data set has {x.shape[0]} points but {y.shape[0]} labels")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)

    @property
    def n(self) -> int:
        return self.x.shape[0]

    @property
    def dim(self) -> int:
        return self.x.shape[1]

    @property
    def label_dim(self) -> int:
        return self.y.shape[1]

    def split(self, n_test: int, seed: int = 0) -> tuple[Dataset, Dataset]:
        """A random (train, test) split with ``n_test`` test points."""
        order = np.random.default_rng(seed).permutation(self.n)
        test, train = order[:n_test], order[n_test:]
        return Dataset(self.x[train], self.y[train]), Dataset(self.x[test], self.y[test])


def _radial(rng: np.random.Generator, n: int, d: int, r_min: float, r_max: float) -> np.ndarray:
    # Uniform in the shell: radius r_min + (r_max - r_min) U^(1/d) as in the authors' code (docs/science.md, A).
    direction = rng.normal(size=(n, d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    radius = r_min + (r_max - r_min) * rng.uniform(size=(n, 1)) ** (1.0 / d)
    return direction * radius


def annulus(
    n: int,
    dim: int = 2,
    seed: int = 0,
    inner: tuple[float, float] = (0.0, 0.5),
    outer: tuple[float, float] = (1.0, 1.5),
) -> Dataset:
    """Concentric spheres: n // 3 points in the inner ball (label -1), the rest in the outer shell (+1).

    The inner points come first. ``seed`` makes it reproducible.
    """
    if n < 2:
        raise ValueError(f"annulus needs n >= 2 points, got {n}")
    rng = np.random.default_rng(seed)
    n_inner = n // 3
    x = np.vstack([_radial(rng, n_inner, dim, *inner), _radial(rng, n - n_inner, dim, *outer)])
    y = np.concatenate([-np.ones(n_inner), np.ones(n - n_inner)])
    return Dataset(x, y)


def xor(n: int, seed: int = 0, noise: float = 0.1) -> Dataset:
    """XOR in the plane: n points uniform in [-1, 1]^2 (kept 0.1 away from the axes), label sign(x1 x2).

    Not separable by a line, nor by a radius: the flow must fold the plane.
    ``noise``: Gaussian jitter (standard deviation) added after labelling.
    """
    if n < 4:
        raise ValueError(f"xor needs n >= 4 points, got {n}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 1.0, size=(n, 2)) * rng.choice([-1.0, 1.0], size=(n, 2))
    y = np.sign(x[:, 0] * x[:, 1])
    return Dataset(x + noise * rng.normal(size=x.shape), y)


def spirals(n: int, seed: int = 0, turns: float = 1.0, noise: float = 0.05) -> Dataset:
    """Two interleaved spirals (labels -1, +1, n // 2 points each), radius 0.2 to 1.2 over ``turns`` turns."""
    if n < 4:
        raise ValueError(f"spirals needs n >= 4 points, got {n}")
    rng = np.random.default_rng(seed)
    s = rng.uniform(size=n)
    label = np.where(np.arange(n) < n // 2, -1.0, 1.0)
    angle = 2 * np.pi * turns * s + np.where(label > 0, np.pi, 0.0)
    radius = 0.2 + s
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return Dataset(x + noise * rng.normal(size=x.shape), label)


def gaussian(n: int, dim: int, seed: int = 0) -> Dataset:
    """Regression data for the ResNet experiments (docs/science.md, C): x ~ N(0, I_d) and the scalar target
    y = sin(a . x), a ~ N(0, I_d / d) drawn once from the same seed (a smooth target of order one)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=dim) / np.sqrt(dim)
    x = rng.normal(size=(n, dim))
    return Dataset(x, np.sin(x @ a))


DataSource = Literal["annulus", "xor", "spirals", "gaussian", "file"]  # the config's data.source
GENERATORS = tuple(source for source in get_args(DataSource) if source != "file")  # made, not read


def generate(source: str, n: int, dim: int = 2, seed: int = 0) -> Dataset:
    """A generated set by name (``GENERATORS``); xor and spirals live in the plane; gaussian is regression."""
    if source == "annulus":
        return annulus(n, dim, seed=seed)
    if source == "gaussian":
        return gaussian(n, dim, seed=seed)
    if dim != 2:
        raise ValueError(f"data set {source!r} is planar: dim must be 2, got {dim}")
    if source == "xor":
        return xor(n, seed=seed)
    if source == "spirals":
        return spirals(n, seed=seed)
    raise ValueError(f"unknown data set {source!r}; generated sets: {', '.join(GENERATORS)}")


def load(path: str | Path) -> Dataset:
    """Read (x, y) from a file.

    ``.npz``: arrays ``X`` (N, d) and ``y`` (N,) or (N, m) (``x`` also accepted).
    ``.csv``: one row per point, features first and the label in the last
    column; a non-numeric first row is taken as a header.
    A file that cannot be read, has no points, or holds a value that is not a
    finite number (NaN, inf, an empty cell) is a ValueError naming the row.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                key = "X" if "X" in archive.files else "x"
                if key not in archive.files or "y" not in archive.files:
                    raise ValueError(f"{path}: an .npz data file needs arrays 'X' and 'y', found {archive.files}")
                for name in (key, "y"):
                    if archive[name].dtype.kind not in "biuf":  # text, complex or objects
                        raise ValueError(f"array {name!r} is not real numbers (dtype {archive[name].dtype})")
                x, y = np.asarray(archive[key], dtype=float), np.asarray(archive["y"], dtype=float)
                if x.ndim != 2 or y.ndim not in (1, 2):
                    raise ValueError(f"'{key}' must be (N, d) and 'y' (N,) or (N, m), got {x.shape} and {y.shape}")
        except (OSError, EOFError, zipfile.BadZipFile) as err:
            raise ValueError(f"{path}: not a readable .npz file ({err})") from None
        except ValueError as err:  # pickled objects, text that is not numbers
            raise ValueError(f"{path}: not a numeric .npz data file ({err})") from None
        return _checked(Dataset(x, y), path)
    if path.suffix == ".csv":
        lines = path.read_text().splitlines()
        header = bool(lines) and any(c.isalpha() and c not in "eE" for c in lines[0])
        numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()][int(header) :]
        rows = [line for _, line in numbered]
        if not rows:
            raise ValueError(f"{path}: no data rows")
        widths = {len(line.split(",")) for line in rows}
        if len(widths) > 1:
            raise ValueError(f"{path}: rows have different numbers of columns ({sorted(widths)})")
        try:
            table = np.loadtxt(rows, delimiter=",", ndmin=2)
        except ValueError as err:  # a cell that is not a number (numpy counts rows after the header from 0)
            raise ValueError(f"{path}: {err}") from None
        if table.shape[1] < 2:
            raise ValueError(f"{path}: a CSV data file needs feature columns and a label column")
        return _checked(Dataset(table[:, :-1], table[:, -1]), path, [n for n, _ in numbered])
    raise ValueError(f"{path}: unsupported data file type {path.suffix!r}; use .csv or .npz")


def _checked(data: Dataset, path: Path, line_numbers: list[int] | None = None) -> Dataset:
    """At least two points, every value finite; ``line_numbers``: each point's line in a text file."""
    if data.n < 2:
        raise ValueError(f"{path}: {data.n} points; at least 2 are needed")
    finite = np.isfinite(data.x).all(axis=1) & np.isfinite(data.y).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        where = f"line {line_numbers[bad[0]]}" if line_numbers else f"point {bad[0]}"
        raise ValueError(f"{path}: {bad.size} points have a value that is not a finite number, first at {where}")
    return data
