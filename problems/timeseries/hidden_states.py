"""How well a fit's hidden states match the generating system's unobserved ones (generated data only).

A model seen only through y = h(z) is known only up to the changes of its coordinates that keep y: for the
linear model z' = A z + b seen through y = z_1, every z -> T z + c whose T has first row e_1 (the other
rows mix in z_1). So the fitted state is compared with the true hidden one after the best affine map from
the fitted free run's whole state [1, z] (scaled coordinates) to each true hidden state, fitted by least
squares over the training window's sample times: ``hidden_r2_NAME`` is its R^2 there, and
``hidden_r2_NAME_forecast`` the R^2 of the same map on the held-out times. For a nonlinear model the
changes of coordinates that keep y need not be affine (any smooth invertible one that keeps y will do),
so ``hidden_r2_NAME_cubic`` also gives the R^2 of the best cubic polynomial in z on the training window.
"""

from __future__ import annotations

from itertools import combinations_with_replacement
from pathlib import Path
from typing import Any

import numpy as np

from ocp.plotting import save_figure, subplots

from .model import TimeSeriesContext

MEMBERS_DRAWN = 4


def report(ctx: TimeSeriesContext, runs: list[np.ndarray], out_dir: Path) -> dict[str, Any]:
    """``hidden_r2_*`` for each state of the generating system that the data do not show, and the figure
    hidden_states.png; nothing for recorded data or when every state is observed. ``runs``: each member's
    free run of the whole model state at its sample times (`report.free_states`)."""
    if ctx.truth is None:
        return {}
    hidden = [i for i, name in enumerate(ctx.truth.names) if name not in ctx.series.names]
    if not hidden:
        return {}
    inside = [tr.t <= ctx.train_until for tr in ctx.series.trajectories]
    true = [tr.x[:, hidden] for tr in ctx.truth.trajectories]
    held_out = [~w for w in inside]
    names = [ctx.truth.names[i] for i in hidden]
    affine, cubic = _mapped(runs, true, inside, 1), _mapped(runs, true, inside, 3)
    result: dict[str, Any] = {}
    for j, name in enumerate(names):
        result[f"hidden_r2_{name}"] = _r2(_stacked(affine, inside)[:, j], _stacked(true, inside)[:, j])
        if any(w.any() for w in held_out):
            truth_after = _stacked(true, held_out)[:, j]
            result[f"hidden_r2_{name}_forecast"] = _r2(_stacked(affine, held_out)[:, j], truth_after)
        result[f"hidden_r2_{name}_cubic"] = _r2(_stacked(cubic, inside)[:, j], _stacked(true, inside)[:, j])
    _plot(ctx, names, true, affine, cubic, out_dir / "hidden_states.png")
    return result


def _stacked(arrays: list[np.ndarray], window: list[np.ndarray]) -> np.ndarray:
    return np.vstack([a[w] for a, w in zip(arrays, window, strict=True)])


def _mapped(runs: list[np.ndarray], true: list[np.ndarray], inside: list[np.ndarray], degree: int) -> list[np.ndarray]:
    """Each member's free run mapped by the polynomial of ``degree`` in z (all monomials) that fits the true
    hidden states best on the training window (least squares); NaN where the runs blew up."""
    features = [_monomials(z, degree) for z in runs]
    X, Y = _stacked(features, inside), _stacked(true, inside)
    finite = np.all(np.isfinite(X), axis=1)
    if finite.sum() <= X.shape[1]:  # no map to fit
        return [np.full(t.shape, np.nan) for t in true]
    coefficients = np.linalg.lstsq(X[finite], Y[finite], rcond=None)[0]
    return [f @ coefficients for f in features]


def _monomials(z: np.ndarray, degree: int) -> np.ndarray:
    """(m, n) -> (m, every monomial of z's entries up to ``degree``, 1 included)."""
    columns = [np.ones(z.shape[0])]
    for d in range(1, degree + 1):
        columns += [np.prod(z[:, list(c)], axis=1) for c in combinations_with_replacement(range(z.shape[1]), d)]
    return np.column_stack(columns)


def _r2(model: np.ndarray, data: np.ndarray) -> float:
    """1 - (residual sum of squares) / (sum of squares about the data's mean); NaN if the run blew up."""
    spread = np.sum((data - data.mean()) ** 2)
    return float(1.0 - np.sum((model - data) ** 2) / spread) if spread > 0 else float("nan")


def _plot(ctx: TimeSeriesContext, names: list[str], true, affine, cubic, path: Path) -> Path:
    members = range(min(MEMBERS_DRAWN, len(ctx.series.trajectories)))
    fig, axes = subplots(len(members), 1, figsize=(8, 2.3 * len(members)), squeeze=False)
    for ax, b in zip(axes[:, 0], members, strict=True):
        t = ctx.series.trajectories[b].t
        for j, name in enumerate(names):
            ax.plot(t, true[b][:, j], "o", ms=2.5, color=f"C{j + 2}", alpha=0.6)
            ax.plot(t, affine[b][:, j], "-", lw=1.2, color=f"C{j + 2}", label=f"{name} (hidden), affine map")
            ax.plot(t, cubic[b][:, j], ":", lw=1.2, color=f"C{j + 2}", label=f"{name}, cubic map")
        ax.axvline(ctx.train_until, color="0.3", ls="--", lw=1)
        ax.set_ylabel(f"member {b}")
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[0, 0].set_title(
        "dots: the generating system's hidden states (noise-free)\nlines: the fitted model's free run through"
        " the best affine (solid)\nand cubic (dotted) map of its whole state, fitted on the training window"
    )
    axes[-1, 0].set_xlabel("t (dashed: end of the training window)")
    return save_figure(fig, path)
