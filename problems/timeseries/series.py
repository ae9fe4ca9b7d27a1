"""Observed trajectories for the time-series problem (`timeseries.py`): generated, or read from a file.

A `Series` holds one `Trajectory` per member: its sample times and observed states (NaN where an entry was
not observed). Generated systems (Van der Pol, Lotka-Volterra, a linear oscillator, a damped pendulum) are integrated by
scipy to 1e-10 and observed with seeded Gaussian noise; files are CSV (a header row naming the columns)
or .npz, with columns/arrays ``time``, optionally ``member`` (one trajectory per value; none: one
trajectory), the known inputs if any (the columns named as inputs, held from each sample to the next),
and the states (every other column, or the array ``x``).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, replace
from importlib.resources import as_file
from pathlib import Path
from typing import Literal

import numpy as np
from scipy.integrate import solve_ivp

SeriesSource = Literal[
    "van_der_pol", "lotka_volterra", "linear", "pendulum", "rational_oscillator", "lynx_hare", "file"
]
GENERATED = ("van_der_pol", "lotka_volterra", "linear", "pendulum", "rational_oscillator")
SHIPPED = {"lynx_hare": "lynx_hare.csv"}  # real records in problems/timeseries/data (README.md there says where from)


@dataclass(frozen=True)
class Trajectory:
    t: np.ndarray  # (n,) increasing
    x: np.ndarray  # (n, nx), NaN where not observed
    u: np.ndarray | None = None  # (n, nu) known inputs at the sample times, held until the next sample

    def window(self, start: float, end: float) -> Trajectory:
        keep = (self.t >= start) & (self.t <= end)
        return Trajectory(self.t[keep], self.x[keep], None if self.u is None else self.u[keep])

    def inputs_at(self, times: np.ndarray) -> np.ndarray:
        """(len(times), nu): the input held at each time (the last sample at or before it; the first
        sample before the record starts)."""
        assert self.u is not None
        return self.u[np.clip(np.searchsorted(self.t, times, side="right") - 1, 0, self.t.size - 1)]


@dataclass(frozen=True)
class Series:
    trajectories: tuple[Trajectory, ...]
    names: tuple[str, ...]  # one per state
    input_names: tuple[str, ...] = ()  # one per known input

    @property
    def nx(self) -> int:
        return len(self.names)

    @property
    def nu(self) -> int:
        return len(self.input_names)

    @property
    def span(self) -> tuple[float, float]:
        return min(tr.t[0] for tr in self.trajectories), max(tr.t[-1] for tr in self.trajectories)

    def window(self, start: float, end: float) -> Series:
        return Series(tuple(tr.window(start, end) for tr in self.trajectories), self.names, self.input_names)

    def columns(self, names: tuple[str, ...]) -> Series:
        """The same records with only the named state columns, in that order (ValueError names an unknown one)."""
        unknown = [name for name in names if name not in self.names]
        if unknown:
            raise ValueError(f"no column {unknown[0]!r} (columns: {', '.join(self.names)})")
        index = [self.names.index(name) for name in names]
        return Series(tuple(replace(tr, x=tr.x[:, index]) for tr in self.trajectories), names, self.input_names)

    def samples(self) -> int:
        """Observed entries in all."""
        return int(sum(np.isfinite(tr.x).sum() for tr in self.trajectories))


# --- generated systems --------------------------------------------------------------------------------------


def van_der_pol(mu: float):
    return lambda t, x: [x[1], mu * (1 - x[0] ** 2) * x[1] - x[0]]


def lotka_volterra(alpha: float = 2 / 3, beta: float = 4 / 3, gamma: float = 1.0, delta: float = 1.0):
    return lambda t, x: [alpha * x[0] - beta * x[0] * x[1], delta * x[0] * x[1] - gamma * x[1]]


def rational_oscillator(t, y):
    """y' = (x2, -x1) with x = y / (1 + y) entrywise: the system of diffrax's neural-ODE example."""
    x = np.asarray(y) / (1.0 + np.asarray(y))
    return [x[1], -x[0]]


def damped_oscillator(A: np.ndarray):
    return lambda t, x: A @ x


LINEAR_A = np.array([[-0.1, 2.0], [-2.0, -0.1]])

PENDULUM_G_OVER_L = 9.81  # 1/s^2: g = 9.81 m/s^2 on a 1 m rod (small swings: period 2.0 s)
PENDULUM_FRICTION = 0.2  # 1/s: the swing's amplitude decays as exp(-0.1 t)


def pendulum(g_over_l: float = PENDULUM_G_OVER_L, c: float = PENDULUM_FRICTION):
    """The damped pendulum theta'' = -(g/L) sin(theta) - c theta', as x = (theta, omega = theta')."""
    return lambda t, x: [x[1], -g_over_l * np.sin(x[0]) - c * x[1]]


def generate(
    source: str,
    *,
    members: int,
    samples: int,
    t_end: float,
    noise: float,
    seed: int,
    mu: float = 1.0,
    times: str = "even",
) -> tuple[Series, object]:
    """``members`` trajectories of the named system from seeded initial states, each observed at
    ``samples`` times on [0, t_end] with N(0, noise^2) added; also the true vector field. ``times``: "even"
    (equally spaced, shared by all members) or "random" (each member its own sorted uniform times, the
    first at 0, from a seeded stream of their own: the initial states and noise do not change with it)."""
    rng = np.random.default_rng(seed)
    if source == "van_der_pol":
        field, x0 = van_der_pol(mu), rng.uniform(-2.5, 2.5, size=(members, 2))
    elif source == "lotka_volterra":
        field, x0 = lotka_volterra(), rng.uniform(0.5, 1.5, size=(members, 2))
    elif source == "linear":
        field, x0 = damped_oscillator(LINEAR_A), rng.uniform(-1.0, 1.0, size=(members, 2))
    elif source == "rational_oscillator":  # diffrax's neural-ODE example: its system and initial states
        field, x0 = rational_oscillator, rng.uniform(-0.6, 1.0, size=(members, 2))
    elif source == "pendulum":  # swings up to 2 rad (115 degrees), where sin(theta) is far from theta
        field, x0 = pendulum(), np.column_stack([rng.uniform(-2.0, 2.0, members), rng.uniform(-1.0, 1.0, members)])
    else:
        raise ValueError(f"unknown source {source!r}")
    clock = np.random.default_rng([seed, 1])
    trajectories = []
    for start in x0:
        t = np.linspace(0.0, t_end, samples)
        if times == "random":
            t = np.concatenate([[0.0], np.sort(clock.uniform(0.0, t_end, samples - 1))])
        solved = solve_ivp(field, (0.0, t_end), start, t_eval=t, rtol=1e-10, atol=1e-12, method="DOP853")
        x = solved.y.T + noise * rng.normal(size=solved.y.T.shape)
        trajectories.append(Trajectory(t, x))
    return Series(tuple(trajectories), ("theta", "omega") if source == "pendulum" else ("x1", "x2")), field


# --- real records shipped with the package ------------------------------------------------------------------


def shipped(name: str) -> Series:
    """A real data set of ``problems/timeseries/data`` by its source name (installed with the package: no download)."""
    from importlib.resources import files

    with as_file(files("problems.timeseries") / "data" / SHIPPED[name]) as path:
        return load(path)


# --- files --------------------------------------------------------------------------------------------------


def load(path: Path, inputs: tuple[str, ...] = ()) -> Series:
    """A CSV or .npz file of observed trajectories (module docstring); the columns named in ``inputs`` are
    known inputs, not states. ValueError says what is wrong."""
    if path.suffix == ".npz":
        columns = _read_npz(path)
    else:
        columns = _read_csv(path)
    if "time" not in columns:
        raise ValueError(f"{path.name}: no 'time' column (columns: {', '.join(columns)})")
    missing = [name for name in inputs if name not in columns]
    if missing:
        raise ValueError(f"{path.name}: no input column {missing[0]!r} (columns: {', '.join(columns)})")
    for name, column in columns.items():  # one value per sample; "x" (npz only) holds every state
        if np.ndim(column) != 1 and not (name == "x" and np.ndim(column) == 2):
            raise ValueError(f"{path.name}: {name!r} must be one value per sample, got shape {np.shape(column)}")
    if np.size(columns["time"]) == 0:
        raise ValueError(f"{path.name}: no samples")
    if "member" in columns and np.size(columns["member"]) != np.size(columns["time"]):
        raise ValueError(f"{path.name}: {np.size(columns['member'])} members for {np.size(columns['time'])} times")
    u = np.column_stack([np.asarray(columns.pop(n), dtype=float) for n in inputs]) if inputs else None
    t = np.asarray(columns.pop("time"), dtype=float)
    member = np.asarray(columns.pop("member", np.zeros_like(t)))
    if "x" in columns:  # an npz array of all states
        x = np.atleast_2d(np.asarray(columns.pop("x"), dtype=float))
        x = x.T if x.shape[0] != t.size and x.shape[1] == t.size else x
        names = tuple(f"x{i + 1}" for i in range(x.shape[1]))
    else:
        names = tuple(columns)
        x = np.column_stack([np.asarray(columns[n], dtype=float) for n in names]) if names else np.zeros((t.size, 0))
    if not names:
        raise ValueError(f"{path.name}: no state columns beside 'time' and 'member'")
    if x.shape[0] != t.size:
        raise ValueError(f"{path.name}: {x.shape[0]} rows of states but {t.size} times")
    if not np.all(np.isfinite(t)):
        raise ValueError(f"{path.name}: 'time' has entries that are not numbers")
    trajectories = []
    for m in dict.fromkeys(member.tolist()):
        rows = np.flatnonzero(member == m)
        order = rows[np.argsort(t[rows], kind="stable")]
        tm = t[order]
        if np.any(np.diff(tm) <= 0):
            raise ValueError(f"{path.name}: member {m} has repeated times")
        if tm.size < 2:
            raise ValueError(f"{path.name}: member {m} has fewer than 2 samples")
        if u is not None and not np.all(np.isfinite(u[order])):
            raise ValueError(f"{path.name}: member {m} has a missing input (inputs must be known at every sample)")
        trajectories.append(Trajectory(tm, x[order], None if u is None else u[order]))
    return Series(tuple(trajectories), names, tuple(inputs))


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    with path.open() as handle:
        header = handle.readline().strip()
    names = [n.strip() for n in header.split(",")]
    if not header or any(not n for n in names):
        raise ValueError(f"{path.name}: the first line must name the columns, e.g. time,member,x1,x2")
    try:
        values = np.genfromtxt(path, delimiter=",", skip_header=1, ndmin=2, missing_values="", filling_values=np.nan)
    except ValueError as err:
        raise ValueError(f"{path.name}: {err}") from None
    if values.size == 0:
        raise ValueError(f"{path.name}: no data rows")
    if values.shape[1] != len(names):
        raise ValueError(f"{path.name}: {len(names)} column names but {values.shape[1]} values per row")
    return {name: values[:, i] for i, name in enumerate(names)}


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            columns = {k: arrays[k] for k in arrays.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise ValueError(f"{path.name}: not a readable .npz file ({err})") from None
    for name, array in columns.items():
        if array.dtype.kind not in "biuf":  # text, complex or objects: not observations
            raise ValueError(f"{path.name}: array {name!r} is not real numbers (dtype {array.dtype})")
    return columns


def write_csv(series: Series, path: Path) -> None:
    """The file format `load` reads (used to ship and to test data files); inputs after the states."""
    rows = [
        np.column_stack([tr.t, np.full(tr.t.size, m), tr.x, *([tr.u] if series.nu else [])])
        for m, tr in enumerate(series.trajectories)
    ]
    header = ",".join(["time", "member", *series.names, *series.input_names])
    np.savetxt(path, np.vstack(rows), delimiter=",", header=header, comments="", fmt="%.10g")
