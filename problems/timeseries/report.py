"""What a fitted time-series model shows: errors on the training window and beyond it, and figures.

Every error is measured on a free run of the fitted model: x' = f_theta(x) (with a hybrid model's known part
at its fitted parameters) integrated by scipy (rtol 1e-9) from each member's fitted initial state over the
whole observed span, compared with the samples, in the data's units. "train" is the training window,
"forecast" the held-out samples after it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import casadi as ca
import numpy as np
from scipy.integrate import solve_ivp

import ocp
from ocp.plotting import save_figure, subplots
from ocp.run.registry import Setup

from . import hidden_states
from .bands import MemberBand, coverage, laplace, member_runs
from .model import TimeSeriesContext

MEMBERS_PER_PAGE = 4  # rows of fit_and_forecast*.png
MAX_BAND_PARAMETERS = 2000  # weights + free initial states; bands.py decomposes their covariance in one piece
MAX_PAGES = 8  # pages for the first 32 members; a larger record's page 1 says how many are drawn


def fitted_field(ctx: TimeSeriesContext, fixed: ca.Function, member: int | None = None):
    """f(t, z) of the fitted model in the model's (scaled) coordinates, for numpy, from ``fixed``
    (`fixed_field`: the fitted parameters built in, so one build serves every member); with known inputs,
    under ``member``'s inputs (held from each sample to the next, over the whole record)."""
    if not ctx.series.nu:
        return lambda t, z: np.asarray(fixed(z, np.zeros(0))).ravel()
    trajectory = ctx.series.trajectories[member]

    def field(t, z):
        u = ctx.scaling.inputs_to_model(trajectory.inputs_at(np.array([t]))[0])
        return np.asarray(fixed(z, u)).ravel()

    return field


def fixed_field(ctx: TimeSeriesContext, fitted: Mapping[str, np.ndarray]) -> ca.Function:
    """(z, u) -> f with the ``fitted`` free parameters (the solution's: the weights ``theta`` and a hybrid
    model's ``known``, where there are) built in as constants: a call then converts no weight vector (at 4482
    weights it costs 0.1 ms, against 0.6 ms passing them as numpy at every call)."""
    model, none = ctx.model, ca.DM(0, 1)
    f = ca.Function("f", [ctx.state, ctx.inputs, model.theta, model.known], [model.field])
    theta, known = (
        ca.DM(np.asarray(fitted[name], float).ravel()) if name in fitted else none for name in ("theta", "known")
    )
    return ca.Function("f_fitted", [ctx.state, ctx.inputs], [f(ctx.state, ctx.inputs, theta, known)])


def free_states(ctx: TimeSeriesContext, solution: ocp.Solution, times: list[np.ndarray]) -> list[np.ndarray]:
    """Each member's free run from its fitted initial state at the first node, at ``times[b]``: the model's
    whole state (hidden entries included) in its scaled coordinates, NaN after a blow-up."""
    n = solution.states.shape[2]
    fixed = fixed_field(ctx, solution.free_parameters)
    runs = []
    for b, t in enumerate(times):
        t0 = ctx.grid.start(b)
        f = fitted_field(ctx, fixed, b)
        solved = solve_ivp(f, (t0, max(t0, t.max())), solution.states[b, 0], t_eval=t, rtol=1e-9, atol=1e-11)
        z = solved.y.T if solved.success else np.full((t.size, n), np.nan)
        if z.shape[0] < t.size:  # the run blew up before the end: the rest is unknown
            z = np.vstack([z, np.full((t.size - z.shape[0], n), np.nan)])
        runs.append(z)
    return runs


def free_runs(ctx: TimeSeriesContext, solution: ocp.Solution, times: list[np.ndarray]) -> list[np.ndarray]:
    """Each member's free run (`free_states`) as the data see it, y = h(z), in the data's units."""
    return [ctx.scaling.to_data(ctx.observation(z)) for z in free_states(ctx, solution, times)]


def _rmse(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    errors = np.concatenate([(model - data)[np.isfinite(data)] for model, data in pairs]) if pairs else np.zeros(0)
    if errors.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean(errors**2)))  # a NaN (a run that blew up) propagates


def _last_observed(x: np.ndarray) -> np.ndarray:
    """Each state's last observed value (NaN if never observed): the naive forecast that holds it."""
    out = np.full(x.shape[1], np.nan)
    for i in range(x.shape[1]):
        seen = np.flatnonzero(np.isfinite(x[:, i]))
        if seen.size:
            out[i] = x[seen[-1], i]
    return out


def errors(ctx: TimeSeriesContext, solution: ocp.Solution) -> dict[str, float]:
    """RMSE of the free runs against the training samples and against the held-out ones (data units), of
    the fitted node states against the training samples, and of the naive forecast that holds each
    member's last training sample (a baseline for the forecast RMSE)."""
    trajectories = ctx.series.trajectories
    runs = free_runs(ctx, solution, [tr.t for tr in trajectories])
    train, held_out, nodes, last_value = [], [], [], []
    for b, (tr, run) in enumerate(zip(trajectories, runs, strict=True)):
        inside = tr.t <= ctx.train_until
        train.append((run[inside], tr.x[inside]))
        held_out.append((run[~inside], tr.x[~inside]))
        last_value.append((np.broadcast_to(_last_observed(tr.x[inside]), tr.x[~inside].shape), tr.x[~inside]))
        at_nodes = ctx.scaling.to_data(ctx.observation(solution.states[b, ctx.grid.nodes_of(b, tr.t[inside])]))
        nodes.append((at_nodes, tr.x[inside]))
    spread = float(np.nanstd(np.vstack([tr.x for tr in trajectories])))
    forecast = _rmse([p for p in held_out if p[1].size])
    return {
        "train_rmse": _rmse(train),
        "forecast_rmse": forecast,
        "forecast_rmse_relative": forecast / spread if spread > 0 else float("nan"),
        "forecast_rmse_last_value": _rmse([p for p in last_value if p[1].size]),
        "node_fit_rmse": _rmse(nodes),
    }


def field_error(ctx: TimeSeriesContext, solution: ocp.Solution) -> float | None:
    """For generated data: the RMS difference between the learned and the true vector field at the
    training samples, over the RMS of the true one (data units); only where the model's state is the
    generating system's (nothing hidden, y = z)."""
    if ctx.true_field is None or ctx.series.nu or not ctx.observation.is_identity:
        return None
    if ctx.truth is not None and ctx.truth.names != ctx.series.names:
        return None
    f = fitted_field(ctx, fixed_field(ctx, solution.free_parameters))
    x = np.vstack([tr.x for tr in ctx.train.trajectories])
    x = x[np.all(np.isfinite(x), axis=1)]
    learned = np.array([ctx.scaling.std * f(0.0, ctx.scaling.to_model(p)) for p in x])
    true = np.array([ctx.true_field(0.0, p) for p in x])
    return float(np.sqrt(np.mean((learned - true) ** 2)) / np.sqrt(np.mean(true**2)))


def dense_times(ctx: TimeSeriesContext) -> np.ndarray:
    """The times at which plot_fit draws the free runs."""
    start, end = ctx.series.span
    return np.linspace(start, end, 600)


def drawn_members(ctx: TimeSeriesContext) -> int:
    return min(len(ctx.series.trajectories), MEMBERS_PER_PAGE * MAX_PAGES)


def plot_fit(
    ctx: TimeSeriesContext, solution: ocp.Solution, out_dir: Path, bands: list[MemberBand] | None = None
) -> list[str]:
    """Data (training and held-out) and the fitted model's free run, one row per member, MEMBERS_PER_PAGE
    members a page: fit_and_forecast.png, then fit_and_forecast_2.png, ..., for the first MAX_PAGES pages
    (each page's title names its members and their number), with the prediction ``bands`` shaded if given.
    Returns the files' names."""
    total = len(ctx.series.trajectories)
    members = ctx.series.trajectories[: drawn_members(ctx)]
    dense = dense_times(ctx)
    runs = free_runs(ctx, solution, [dense] * len(members))
    names = []
    for first in range(0, len(members), MEMBERS_PER_PAGE):
        page = range(first, min(first + MEMBERS_PER_PAGE, len(members)))
        name = "fit_and_forecast.png" if first == 0 else f"fit_and_forecast_{first // MEMBERS_PER_PAGE + 1}.png"
        shown = f"members {page[0]}-{page[-1]} of {total}" if len(page) > 1 else f"member {page[0]} of {total}"
        if len(members) < total and first == 0:
            shown += f" (pages for the first {len(members)})"
        shaded = [bands[b] for b in page] if bands else None
        _plot_page(ctx, [members[b] for b in page], [runs[b] for b in page], page, dense, shown, out_dir / name, shaded)
        names.append(name)
    return names


def _plot_page(ctx: TimeSeriesContext, members, runs, numbers, dense, shown: str, path: Path, bands=None) -> Path:
    fig, axes = subplots(len(members), 1, figsize=(8, 2.3 * len(members)), squeeze=False)
    colours = [f"C{i}" for i in range(ctx.series.nx)]
    for row, (ax, tr, run, b) in enumerate(zip(axes[:, 0], members, runs, numbers, strict=True)):
        inside = tr.t <= ctx.train_until
        for i, name in enumerate(ctx.series.names):
            if bands:
                _shade(ax, bands[row], dense, i, colours[i])
            ax.plot(tr.t[inside], tr.x[inside, i], "o", ms=2.5, color=colours[i], alpha=0.6)
            ax.plot(tr.t[~inside], tr.x[~inside, i], "x", ms=3.5, color=colours[i], alpha=0.8)
            ax.plot(dense, run[:, i], "-", lw=1.2, color=colours[i], label=name)
        ax.axvline(ctx.train_until, color="0.3", ls="--", lw=1)
        ax.set_ylabel(f"member {b}")
    axes[0, 0].legend(loc="upper right", fontsize=8, ncol=ctx.series.nx)
    title = f"{shown}\ndots: training samples, crosses: held out, lines: the fitted model run freely"
    if bands:
        level = f"{100 * ctx.settings.bands.level:g} %"
        title += f"\nshaded {level} bands (linearised Laplace): dark, the noise-free run; light, a new sample"
    axes[0, 0].set_title(title)
    axes[-1, 0].set_xlabel("t (dashed: end of the training window)")
    return save_figure(fig, path)


def _shade(ax, band: MemberBand, dense: np.ndarray, i: int, colour: str) -> None:
    """Both bands of state ``i`` at the plotted times (from the member's first node on)."""
    at = np.searchsorted(band.t, dense[dense >= band.t[0]])
    t, centre = band.t[at], band.centre[at, i]
    for half, alpha in ((band.observation, 0.1), (band.mean, 0.25)):
        ax.fill_between(t, centre - half[at, i], centre + half[at, i], color=colour, alpha=alpha, lw=0)


def prediction_bands(ctx: TimeSeriesContext, solution: ocp.Solution, seed: int):
    """(summary.json's ``bands``, each member's `MemberBand` for the figures or None): the level, the noise
    estimate per state (data units), the effective parameters, and how often the bands cover the samples
    (the observation band) and, for generated data, the noise-free trajectory (the mean band)."""
    level = ctx.settings.bands.level
    if not ctx.observation.is_identity or ctx.model.known.numel() or not ctx.model.theta.numel():
        # bands.py linearises the observed state's run in the network's weights alone
        return {
            "level": level,
            "skipped": "not computed with hidden states, fitted known parameters or no network",
        }, None
    begin = time.perf_counter()
    theta = np.asarray(solution.free_parameters["theta"]).ravel()
    size = theta.size + solution.states.shape[0] * solution.states.shape[2]
    if size > MAX_BAND_PARAMETERS:
        reason = f"{size} parameters: above {MAX_BAND_PARAMETERS}, the dense covariance and sensitivities take minutes"
        return {"level": level, "skipped": reason}, None
    extra = [dense_times(ctx)] * drawn_members(ctx)
    runs = member_runs(ctx, theta, solution.states[:, 0], extra)
    bands = laplace(ctx, theta, runs, level)
    if isinstance(bands, str):
        return {"level": level, "skipped": bands}, None
    members = bands.member_bands(ctx, runs)
    until = ctx.train_until
    summary = {
        "level": level,
        "drawn": "the noise-free run's band (mean) and a new sample's (observation), linearised Laplace",
        "sigma": (bands.sigma * ctx.scaling.std).tolist(),
        "effective_parameters": bands.effective_parameters,
        "degrees_of_freedom": bands.degrees_of_freedom,
        "train_coverage_observation": coverage(members, "observation", ctx.series, -np.inf, until),
        "held_out_coverage_observation": coverage(members, "observation", ctx.series, until),
    }
    if ctx.true_field is not None:  # generated: the same seed without noise is the true trajectory
        clean = replace(ctx.settings.data, noise=0.0).load(seed)[0]
        summary["held_out_coverage_noise_free_mean"] = coverage(members, "mean", clean, until)
    summary["time_s"] = time.perf_counter() - begin
    return summary, members


def plot_vector_field(ctx: TimeSeriesContext, solution: ocp.Solution, path: Path) -> Path | None:
    """The learned vector field (streamlines) over the data, in the plane of a 2-state system without inputs
    (with inputs the field is not one picture) whose state is the data's (y = z)."""
    if ctx.series.nx != 2 or ctx.series.nu or not ctx.observation.is_identity:
        return None
    x = np.vstack([tr.x for tr in ctx.series.trajectories])
    lo, hi = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
    pad = 0.15 * (hi - lo)
    g1, g2 = np.meshgrid(
        np.linspace(lo[0] - pad[0], hi[0] + pad[0], 30), np.linspace(lo[1] - pad[1], hi[1] + pad[1], 30)
    )
    f = fitted_field(ctx, fixed_field(ctx, solution.free_parameters))
    points = np.column_stack([g1.ravel(), g2.ravel()])
    v = np.array([ctx.scaling.std * f(0.0, ctx.scaling.to_model(p)) for p in points])
    fig, ax = subplots(figsize=(5.5, 5))
    ax.streamplot(g1, g2, v[:, 0].reshape(g1.shape), v[:, 1].reshape(g1.shape), color="0.6", density=1.2)
    for b, tr in enumerate(ctx.series.trajectories[: 2 * MEMBERS_PER_PAGE]):
        ax.plot(tr.x[:, 0], tr.x[:, 1], ".", ms=2.5, color=f"C{b % 10}")
    ax.set_xlabel(ctx.series.names[0])
    ax.set_ylabel(ctx.series.names[1])
    drawn = min(len(ctx.series.trajectories), 2 * MEMBERS_PER_PAGE)
    of = (
        ""
        if drawn == len(ctx.series.trajectories)
        else f" of the first {drawn} of {len(ctx.series.trajectories)} members"
    )
    ax.set_title(f"learned vector field (streamlines)\nand the samples{of}", fontsize=10)
    return save_figure(fig, path)


def report(setup: Setup[TimeSeriesContext], solution: ocp.Solution, out_dir: Path) -> dict[str, Any]:
    ctx = setup.context
    result: dict[str, Any] = {name: value for name, value in solution.costs.items()}
    result |= errors(ctx, solution)
    if ctx.model.known_names:
        fitted = np.asarray(solution.free_parameters["known"]).ravel()
        result["fitted_parameters"] = dict(zip(ctx.model.known_names, map(float, fitted), strict=True))
    relative = field_error(ctx, solution)
    if relative is not None:
        result["vector_field_error_relative"] = relative
    members = None
    if ctx.settings.bands.level is not None:
        result["bands"], members = prediction_bands(ctx, solution, setup.run.seed)
    result["fit_and_forecast_pages"] = plot_fit(ctx, solution, out_dir, members)
    plot_vector_field(ctx, solution, out_dir / "vector_field.png")
    result |= hidden_states.report(ctx, free_states(ctx, solution, [tr.t for tr in ctx.series.trajectories]), out_dir)
    return result
