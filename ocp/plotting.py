"""Plots of any solution: states and controls over time; the landscape of a search.

Figures are made as `matplotlib.figure.Figure` objects, not through pyplot, so
that drawing never selects or switches a backend: a notebook keeps its own
(and shows the returned figure), a worker process without a display needs
none, and nothing has to be closed.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure


def subplots(*grid: int, figsize: tuple[float, float], **kwargs):
    """``plt.subplots`` without pyplot: a new Figure and its axes."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid, **kwargs)


def save_figure(fig, path: Path) -> Path:
    """Lay ``fig`` out and write it to ``path`` (the format from the suffix); returns ``path``."""
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def plot_solution(solution, path: str | Path | None = None, max_members: int = 50):
    """States (one line per ensemble member, up to ``max_members``) and piecewise-constant controls.

    Returns the matplotlib figure; with ``path`` it is also written there (PNG, PDF, ...).
    """
    nx, nu = solution.states.shape[2], solution.controls.shape[1]
    fig, axes = subplots(2, 1, figsize=(7, 6), sharex=True)
    step = max(1, solution.N // max_members)
    colours = matplotlib.colormaps["tab10"]
    for i in range(nx):
        for b, member in enumerate(solution.states[::step]):
            axes[0].plot(
                solution.t, member[:, i], color=colours(i % 10), lw=1, alpha=0.6, label=f"x[{i}]" if b == 0 else None
            )
    for j in range(nu):
        axes[1].stairs(solution.controls[:, j], solution.t, baseline=None, color=colours(j % 10), label=f"u[{j}]")
    axes[0].set(ylabel="state", title=f"{solution.status}: objective {solution.objective:.6g}")
    axes[1].set(xlabel="t", ylabel="control")
    for ax in axes:
        ax.grid(alpha=0.3)
        if max(nx, nu) <= 10:
            ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    if path is not None:
        fig.savefig(Path(path), dpi=120)
    return fig


def plot_landscape(report, path: str | Path | None = None):
    """The local minima a search reached, sorted, with the returned one marked (``report``: a solution's
    ``start["multistart"]``). One dot per converged local search, draws (counted by the coverage claim) and
    extras (the configured start, continuations, hops, more starts) in two colours, so a minimum reached k
    times is k dots on one level; the title says what the draws cover. Log scale: the minima of learning
    problems differ by factors."""
    solves = report.get("solves") or [{} for _ in report["objectives"]]
    points = sorted(
        (f, solve.get("role") == "draw")
        for f, ok, solve in zip(report["objectives"], report["succeeded"], solves, strict=True)
        if ok and f == f
    )
    fig, ax = subplots(figsize=(7, 4))
    for is_draw, colour, label in ((True, "tab:blue", "draw"), (False, "tab:orange", "extra")):
        xs = [k + 1 for k, (_, draw) in enumerate(points) if draw == is_draw]
        ax.plot(xs, [points[k - 1][0] for k in xs], "o", ms=5, color=colour, label=f"{label} ({len(xs)})")
    if points:
        ax.axhline(points[0][0], color="tab:red", lw=1, ls="--", label=f"returned: {points[0][0]:.6g}")
        if points[0][0] > 0:
            ax.set_yscale("log")
    title = f"{len(points)} converged local searches, {report.get('distinct', 0)} distinct minima"
    draws, q = report.get("draws", 0), report.get("unseen_basin_mass")
    if draws and q is not None:
        confidence = report.get("unseen_basin_confidence", 0.95)
        title += f"\n{draws} draws: basins of 1 in {1 / q:.3g} starts or more found with probability {confidence:.0%}"
    ax.set(xlabel="local searches, sorted by objective", ylabel="objective", title=title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    if path is not None:
        fig.savefig(Path(path), dpi=120)
    return fig


def plot_costates(solution, path: str | Path | None = None, max_members: int = 30):
    """The maximum principle along [0, T] (`ocp/solvers/maximum_principle.py`): the costates' norms
    ||p_i(t_k)|| of up to ``max_members`` members (and their mean over all members), and per interval
    ||dH_k/du|| against ||df/du||, the stationarity residual of the Hamiltonian in the control (log scale)."""
    report = solution.maximum_principle
    norms = np.linalg.norm(solution.costates, axis=2)  # (N, K + 1)
    fig, (top, bottom) = subplots(2, 1, figsize=(7, 6), sharex=True)
    step = max(1, norms.shape[0] // max_members)
    for row in norms[::step]:
        top.plot(solution.t, row, color="tab:blue", lw=0.6, alpha=0.4)
    top.plot(solution.t, norms.mean(axis=0), color="black", lw=1.6, label="mean over the members")
    top.set(ylabel="||p_i(t)||", title="costates from IPOPT's multipliers")
    top.legend(fontsize=8)
    top.grid(alpha=0.3)
    residual = np.asarray(report.residual_per_interval or [], dtype=float)
    if residual.size:
        mids = 0.5 * (solution.t[:-1] + solution.t[1:])
        what = "||dH_k/du|| (costates)" if report.switching is None else "||dH_k/du|| = h ||sigma_k|| (L1: switching)"
        bottom.semilogy(mids, np.maximum(residual, 1e-300), "o-", ms=3, label=what)
        if np.isfinite(report.scale) and report.scale > 0:
            bottom.axhline(report.scale, color="tab:gray", ls="--", lw=1, label=f"max ||df/du_k|| = {report.scale:.2g}")
        bottom.legend(fontsize=8)
    ylabel = "stationarity residual" if report.switching is None else "switching function x h"
    bottom.set(xlabel="t", ylabel=ylabel, title=f"max ||dH/du|| = {report.residual:.2g}")
    bottom.grid(alpha=0.3, which="both")
    fig.tight_layout()
    if path is not None:
        fig.savefig(Path(path), dpi=120)
    return fig
