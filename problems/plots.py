"""Figures of a solved learning problem (PNG files)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .datasets import Dataset  # noqa: E402
from .losses import labels  # noqa: E402


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _colours(y: np.ndarray) -> np.ndarray:
    return labels(y)


def trajectories(states: np.ndarray, data: Dataset, path: Path, max_lines: int = 200) -> Path:
    """Trajectories x_i(t) in the plane of the first two coordinates, coloured by label."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    c = _colours(data.y)
    cmap = plt.get_cmap("coolwarm")
    lo, hi = c.min(), c.max() if c.max() > c.min() else c.min() + 1
    step = max(1, len(states) // max_lines)
    for traj, label in zip(states[::step], c[::step], strict=True):
        ax.plot(traj[:, 0], traj[:, 1 % traj.shape[1]], color=cmap((label - lo) / (hi - lo)), lw=0.6, alpha=0.5)
    ax.scatter(states[:, 0, 0], states[:, 0, 1 % states.shape[2]], c=c, cmap=cmap, s=8, marker="o", label="x(0)")
    ax.scatter(states[:, -1, 0], states[:, -1, 1 % states.shape[2]], c=c, cmap=cmap, s=14, marker="x", label="x(T)")
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title="Trajectories (o start, x end)")
    ax.set_aspect("equal", adjustable="datalim")
    return _save(fig, path)


def control_norm(t: np.ndarray, norms: np.ndarray, path: Path) -> Path:
    """||u(t)|| (piecewise constant) over t."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.stairs(norms, t, baseline=None, lw=1.5)
    ax.set(xlabel="t", ylabel="||u(t)||", title="Control norm")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def training_error(t: np.ndarray, error: np.ndarray, path: Path) -> Path:
    """E(x(t)) on the grid, log scale."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogy(t, error, "o-", ms=3)
    ax.set(xlabel="t", ylabel="E(x(t))", title="Training error along the flow")
    ax.grid(alpha=0.3, which="both")
    return _save(fig, path)


def decision_regions(predict, train: Dataset, test: Dataset, path: Path, resolution: int = 150) -> Path:
    """Predicted class over the plane (first two coordinates; others set to 0) with the data."""
    pts = np.vstack([train.x, test.x]) if test.n else train.x
    lo, hi = pts[:, :2].min(axis=0) - 0.3, pts[:, :2].max(axis=0) + 0.3
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.zeros((g0.size, train.dim))
    grid[:, 0], grid[:, 1 % train.dim] = g0.ravel(), g1.ravel()
    classes = predict(grid).reshape(g0.shape)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.contourf(g0, g1, classes, levels=np.unique(classes).size, cmap="coolwarm", alpha=0.3)
    ax.scatter(train.x[:, 0], train.x[:, 1 % train.dim], c=_colours(train.y), cmap="coolwarm", s=10, label="train")
    if test.n:
        ax.scatter(
            test.x[:, 0],
            test.x[:, 1 % test.dim],
            c=_colours(test.y),
            cmap="coolwarm",
            s=14,
            marker="^",
            edgecolors="k",
            linewidths=0.3,
            label="test",
        )
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title="Decision regions")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_aspect("equal", adjustable="box")
    return _save(fig, path)
