"""Figures of a solved learning problem (PNG files)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.ticker
import numpy as np

from ocp.plotting import save_figure, subplots

from .datasets import Dataset
from .losses import labels

MAX_NAMED_CLASSES = 10  # up to this many labels get a colour each and a legend entry; more: a colour scale


def _class_colours(values: np.ndarray) -> dict[float, tuple]:
    """One qualitative colour per label value, the same in every figure of a run."""
    palette = matplotlib.colormaps["tab10"]
    return {value: palette(i % 10) for i, value in enumerate(np.unique(values))}


def _marker_handles(*entries: tuple[str, str]) -> list:
    """Legend entries for marker shapes, in grey so that they do not read as a class colour."""
    from matplotlib.lines import Line2D

    return [Line2D([], [], color="0.35", marker=marker, ls="", label=text) for marker, text in entries]


def trajectories(states: np.ndarray, data: Dataset, path: Path, max_lines: int = 200) -> Path:
    """Trajectories x_i(t) in the plane of the first two coordinates, coloured by label."""
    from matplotlib.lines import Line2D

    fig, ax = subplots(figsize=(5.5, 5))
    y = labels(data.y)
    second = 1 % states.shape[2]
    step = max(1, len(states) // max_lines)
    if np.unique(y).size <= MAX_NAMED_CLASSES:
        colours = _class_colours(y)
        colour_of = [colours[value] for value in y]
        handles = [Line2D([], [], color=c, lw=2, label=f"label {value:g}") for value, c in colours.items()]
    else:  # a continuous label: a colour scale
        scale = matplotlib.colors.Normalize(y.min(), y.max())
        colour_of = list(matplotlib.colormaps["coolwarm"](scale(y)))
        fig.colorbar(matplotlib.cm.ScalarMappable(norm=scale, cmap="coolwarm"), ax=ax, label="label")
        handles = []
    for i in range(0, len(states), step):
        ax.plot(states[i, :, 0], states[i, :, second], color=colour_of[i], lw=0.6, alpha=0.5)
    ax.scatter(states[:, 0, 0], states[:, 0, second], color=colour_of, s=8, marker="o")
    ax.scatter(states[:, -1, 0], states[:, -1, second], color=colour_of, s=14, marker="x")
    handles += _marker_handles(("o", "x(0), the input"), ("x", "x(T), the output"))
    ax.legend(handles=handles, fontsize=8, loc="best")
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title="Trajectories")
    ax.set_aspect("equal", adjustable="datalim")
    return save_figure(fig, path)


def control_norm(t: np.ndarray, norms: np.ndarray, path: Path) -> Path:
    """||u(t)|| (piecewise constant) over t."""
    fig, ax = subplots(figsize=(6, 3.5))
    ax.stairs(norms, t, baseline=None, lw=1.5)
    ax.set(xlabel="t", ylabel="||u(t)||", title="Control norm")
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def training_error(t: np.ndarray, error: np.ndarray, path: Path) -> Path:
    """E(x(t)) on the grid, log scale."""
    fig, ax = subplots(figsize=(6, 3.5))
    ax.semilogy(t, error, "o-", ms=3)
    ax.set(xlabel="t", ylabel="E(x(t))", title="Training error along the flow")
    ax.grid(alpha=0.3, which="both")
    return save_figure(fig, path)


def decision_regions(predict, train: Dataset, test: Dataset, path: Path, resolution: int = 150) -> Path:
    """Predicted class over the plane (first two coordinates; others set to 0) with the data, each class in
    its own colour (region and points alike), train and test told apart by marker."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    pts = np.vstack([train.x, test.x]) if test.n else train.x
    lo, hi = pts[:, :2].min(axis=0) - 0.3, pts[:, :2].max(axis=0) + 0.3
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.zeros((g0.size, train.dim))
    grid[:, 0], grid[:, 1 % train.dim] = g0.ravel(), g1.ravel()
    predicted = np.asarray(predict(grid), dtype=float).reshape(g0.shape)
    y_train, y_test = labels(train.y), labels(test.y) if test.n else np.zeros(0)
    colours = _class_colours(np.concatenate([y_train, y_test, predicted.ravel()]))
    values = list(colours)
    fig, ax = subplots(figsize=(5.5, 5))
    index = np.searchsorted(values, predicted)
    ax.contourf(
        g0, g1, index, levels=np.arange(len(values) + 1) - 0.5, cmap=ListedColormap(list(colours.values())), alpha=0.25
    )
    ax.scatter(train.x[:, 0], train.x[:, 1 % train.dim], color=[colours[v] for v in y_train], s=10, marker="o")
    if test.n:
        ax.scatter(
            test.x[:, 0],
            test.x[:, 1 % test.dim],
            color=[colours[v] for v in y_test],
            s=16,
            marker="^",
            edgecolors="k",
            linewidths=0.4,
        )
    handles = [Patch(color=c, label=f"label {value:g}") for value, c in colours.items()]
    handles += _marker_handles(("o", "train"), *([("^", "test")] if test.n else []))
    ax.legend(handles=handles, loc="upper right", fontsize=8)
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title="Decision regions (shaded: predicted label)")
    ax.set_aspect("equal", adjustable="box")
    return save_figure(fig, path)


def turnpike(curves, path: Path) -> Path:
    """The turnpike picture: tracking error and ||u(t)|| against t, semilog, one colour per horizon T,
    with the fitted C exp(-mu t) over its window dashed. ``curves``: (T, t, tracking, norms, fits)."""
    fig, (top, bottom) = subplots(2, 1, figsize=(6.5, 6), sharex=True)
    colours = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.85, max(1, len(curves))))
    for (T, t, tracking, norms, fits), colour in zip(curves, colours, strict=True):
        top.semilogy(t, tracking, "o-", ms=2.5, color=colour, label=f"T = {T:g}, mu = {fits['tracking'].mu:.2f}")
        bottom.stairs(
            np.maximum(norms, 1e-300),
            t,
            baseline=None,
            color=colour,
            lw=1.4,
            label=f"T = {T:g}, mu = {fits['control_norm'].mu:.2f}",
        )
        for ax, fit in ((top, fits["tracking"]), (bottom, fits["control_norm"])):
            window = np.linspace(*fit.window, 50)
            ax.plot(window, fit(window), "--", color=colour, lw=1)
    bottom.set_yscale("log")
    top.set(ylabel="tracking error", title="Turnpike: exponential decay (dashed: fits over the window)")
    bottom.set(xlabel="t", ylabel="||u(t)||")
    for ax in (top, bottom):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def stopping_times(curves, path: Path) -> Path:
    """||u(t)|| against t with the stopping time T* marked, one colour per horizon.
    ``curves``: (T, t, norms, T_star or None)."""
    fig, ax = subplots(figsize=(6.5, 3.8))
    colours = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.85, max(1, len(curves))))
    for (T, t, norms, T_star), colour in zip(curves, colours, strict=True):
        label = f"T = {T:g}, T* = {T_star:.3g}" if T_star is not None else f"T = {T:g}, no T*"
        ax.stairs(norms, t, baseline=None, color=colour, lw=1.4, label=label)
        if T_star is not None:
            ax.axvline(T_star, color=colour, ls="--", lw=1)
    ax.set(xlabel="t", ylabel="||u(t)||", title="L1: controls stop at T* (dashed)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def switching_function(t, switching, lam: float, T_star: float | None, T_band: float | None, path: Path) -> Path:
    """The L1 problem's switching function from the costates, max_j |sigma_kj| per interval, against the band
    lambda inside which u = 0 is optimal; T* from the controls (dashed) and where sigma leaves the band for
    the last time (dotted). ``t``: the K + 1 node times; ``switching``: (K, nu)."""
    fig, ax = subplots(figsize=(6.5, 3.8))
    ax.stairs(np.max(np.abs(switching), axis=1), t, baseline=None, color="tab:blue", lw=1.4, label="max_j |sigma_j(t)|")
    ax.axhline(lam, color="tab:red", lw=1, label=f"lambda = {lam:g}: u = 0 optimal below")
    if T_star is not None:
        ax.axvline(T_star, color="black", ls="--", lw=1, label=f"T* from the controls = {T_star:.3g}")
    if T_band is not None:
        ax.axvline(T_band, color="tab:green", ls=":", lw=1.5, label=f"sigma leaves the band last at {T_band:.3g}")
    ax.set(xlabel="t", ylabel="|switching function|", title="L1: the maximum principle explains T*")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    return save_figure(fig, path)


def power_law(
    curves, path: Path, ylabel: str = "E(x(T))", title: str = "Final training error against the horizon"
) -> Path:
    """A quantity against T, log-log (by default the final training error), each curve with its fitted
    C T^-alpha dashed. ``curves``: (label, T, values, fit or None)."""
    fig, ax = subplots(figsize=(6, 4.2))
    for label, T, error, fit in curves:
        (points,) = ax.loglog(T, error, "o", label=label)
        if fit is not None:
            grid = np.geomspace(np.min(T), np.max(T), 50)
            fitted = f"C T^-alpha, alpha = {fit.alpha:.2f}, R^2 = {fit.r2:.3f}"
            ax.loglog(grid, fit(grid), "--", color=points.get_color(), label=fitted)
    ticks = sorted({float(t) for _, T, _, _ in curves for t in T})
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])  # the solved T, not 3 x 10^0 labels that overlap
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set(xlabel="T", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def space_time(t: np.ndarray, states: np.ndarray, grid_at_node, data: Dataset, path: Path) -> Path:
    """x(t, z) of a space-time network at its grid nodes (t_k, z_j), for the first point of each class:
    shows the width (the number of nodes) changing with depth under a width schedule."""
    classes = np.unique(labels(data.y))
    fig, axes = subplots(1, len(classes), figsize=(5 * len(classes), 3.8), squeeze=False)
    for ax, c in zip(axes[0], classes, strict=True):
        i = int(np.flatnonzero(labels(data.y) == c)[0])
        tz = [(t[k], z, states[i, k, j]) for k in range(len(t)) for j, z in enumerate(grid_at_node(k))]
        tt, zz, xx = (np.array(v) for v in zip(*tz, strict=True))
        image = ax.scatter(tt, zz, c=xx, cmap="viridis", s=18)
        fig.colorbar(image, ax=ax, label="x(t, z)")
        ax.set(xlabel="t (depth)", ylabel="z (width variable)", title=f"point {i} (label {c:g})")
    fig.suptitle("Space-time state at the grid nodes")
    return save_figure(fig, path)
