"""Plots of any solution: states and controls over time."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_solution(solution, path: str | Path | None = None, max_members: int = 50):
    """States (one line per ensemble member, up to ``max_members``) and piecewise-constant controls.

    Returns the matplotlib figure; with ``path`` it is also written there (PNG, PDF, ...).
    """
    nx, nu = solution.states.shape[2], solution.controls.shape[1]
    fig, axes = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    step = max(1, solution.batch_size // max_members)
    colours = plt.get_cmap("tab10")
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
