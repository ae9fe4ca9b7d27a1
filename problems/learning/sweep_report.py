"""Sweep-level fits and figures of the learning problems (the ``sweep_report`` hook of `ocp.sweep`).

From the records of the solved points (one dict per point, the fields of each
point's report), grouped into curves by every swept field other than T:

- T swept: E(x(T)) against T with the fit C T^-alpha per curve (A1:
  ``error_vs_T.png``); where the points carry turnpike rates, mu of ||u(t)||
  and of the tracking error against T (A2: ``mu_vs_T.png``); where they carry
  stopping times, T* against T (B: ``stopping_time_vs_T.png``).
- lambda swept: E(x(T)), the regularisation and max ||u|| against lambda
  (``vs_lambda.png``); where the points carry stopping times, T* against
  lambda per T with a power-law fit, the error reached at T*, and how far T*
  moves with T at each lambda (B: ``stopping_time_vs_lambda.png``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ocp.analysis import power_law
from ocp.plotting import save_figure, subplots

from . import plots


def sweep_report(records: Sequence[dict[str, Any]], axes: Sequence[str], out_dir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"lines": [], "figures": []}
    if _varies(records, "T"):
        curves = _curves(records, axes, along="T")
        _error_vs_T(curves, out_dir, result)
        if any("mu_control_norm" in r for r in records):
            _mu_vs_T(curves, out_dir, result)
        if any("stopping_time" in r for r in records):
            _stopping_vs_T(curves, out_dir, result)
    if _varies(records, "lambda"):
        by_lambda = _curves(records, axes, along="lambda")
        _vs_lambda(by_lambda, out_dir, result)
        if any("stopping_time" in r for r in records):
            _stopping_vs_lambda(by_lambda, out_dir, result)
    return result


def _varies(records, name: str) -> bool:
    return len({r.get(name) for r in records if r.get(name) is not None}) > 1


def _curves(records, axes: Sequence[str], along: str) -> dict[str, list[dict[str, Any]]]:
    """Records grouped by the other swept fields (rules follow from ``along``), each sorted by ``along``."""
    others = [a for a in axes if a != along and _varies(records, a) and not _follows(records, a, along)]
    curves: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        label = ", ".join(f"{a} = {r[a]:.3g}" if isinstance(r[a], float) else f"{a} = {r[a]}" for a in others)
        curves.setdefault(label or "all points", []).append(r)
    return {k: sorted(v, key=lambda r: r[along]) for k, v in curves.items()}


def _follows(records, name: str, along: str) -> bool:
    """``name`` is a function of ``along`` over the records (a coupled rule such as lambda = c / T)."""
    seen: dict[Any, Any] = {}
    return all(seen.setdefault(r[along], r[name]) == r[name] for r in records)


def _error_vs_T(curves, out_dir: Path, result: dict) -> None:
    drawn, fits = [], {}
    for label, rows in curves.items():
        T = np.array([r["T"] for r in rows], dtype=float)
        error = np.array([r["final_training_error"] for r in rows], dtype=float)
        fit = power_law(T, error) if len(T) >= 2 and np.all(error > 0) else None
        if fit is not None:
            fits[label] = fit.as_dict()
            result["lines"].append(f"E(x(T)) ~ {fit.C:.3g} T^-alpha, alpha = {fit.rate_text()} [{label}]")
        drawn.append((label, T, error, fit))
    plots.power_law(drawn, out_dir / "error_vs_T.png")
    result["figures"].append("error_vs_T.png")
    result["error_vs_T"] = fits


def _mu_vs_T(curves, out_dir: Path, result: dict) -> None:
    fig, ax = subplots(figsize=(6, 4))
    table = {}
    for label, rows in curves.items():
        T = [r["T"] for r in rows]
        for key, marker in (("mu_control_norm", "o-"), ("mu_tracking", "s--")):
            mu = [r.get(key, np.nan) for r in rows]
            ax.plot(T, mu, marker, label=f"{key[3:]} ({label})")
            table[f"{key} [{label}]"] = dict(zip(map(str, T), mu, strict=True))
        mus = ", ".join(f"{r.get('mu_control_norm', np.nan):.3f}" for r in rows)
        result["lines"].append(f"mu of ||u(t)|| at T = {', '.join(f'{t:g}' for t in T)}: {mus} [{label}]")
    ax.set(xlabel="T", ylabel="mu", title="Turnpike decay rates against T (A2: independent of T)", ylim=(0, None))
    _finish(fig, ax, out_dir, "mu_vs_T.png", result)
    result["mu_vs_T"] = table


def _stopping_vs_T(curves, out_dir: Path, result: dict) -> None:
    fig, ax = subplots(figsize=(5.5, 4))
    T_all = []
    for label, rows in curves.items():
        T = [r["T"] for r in rows]
        T_all += T
        stop = [np.nan if r.get("stopping_time") is None else r["stopping_time"] for r in rows]
        ax.plot(T, stop, "o-", label=f"T* ({label})")
        shown = ", ".join("none" if np.isnan(s) else f"{s:.3g}" for s in stop)
        result["lines"].append(f"T* at T = {', '.join(f'{t:g}' for t in T)}: {shown} [{label}]")
    ax.plot([min(T_all), max(T_all)], [min(T_all), max(T_all)], "k:", lw=1, label="T* = T")
    ax.set(xlabel="T", ylabel="T*", title="L1: stopping time against T (B: T* < T, settling)")
    _finish(fig, ax, out_dir, "stopping_time_vs_T.png", result)


def _stopping_vs_lambda(curves, out_dir: Path, result: dict) -> None:
    """B over a grid: T* against lambda per T (from the controls, and where the switching function leaves
    its band), with a power-law fit T* ~ C lambda^-alpha over the points where the controls stop before T,
    the training error reached at T*, and how much T* moves with T at each lambda once T > T*."""
    fig, (left, right) = subplots(1, 2, figsize=(11, 4))
    fits, by_lambda = {}, {}
    for label, rows in curves.items():
        lam = np.array([r["lambda"] for r in rows], dtype=float)
        stop = np.array([np.nan if r.get("stopping_time") is None else r["stopping_time"] for r in rows])
        band = np.array([r.get("switching_stopping_time", np.nan) for r in rows], dtype=float)
        T = np.array([r["T"] for r in rows], dtype=float)
        (line,) = left.semilogx(lam, stop, "o-", label=f"T* from the controls ({label})")
        left.semilogx(lam, band, "x:", color=line.get_color(), label=f"T* from the switching function ({label})")
        inside = np.isfinite(stop) & (stop < T) & (stop > 0)
        if inside.sum() >= 2:
            fit = power_law(lam[inside], stop[inside])
            fits[label] = fit.as_dict()
            result["lines"].append(f"T* ~ {fit.C:.3g} lambda^-alpha, alpha = {fit.rate_text()} [{label}]")
        right.loglog(lam, [r.get("error_at_stopping_time", np.nan) for r in rows], "o-", label=label)
        for r, s in zip(rows, stop, strict=True):
            if np.isfinite(s) and s < r["T"]:
                by_lambda.setdefault(r["lambda"], []).append((r["T"], float(s)))
    left.set(xlabel="lambda", ylabel="T*", title="L1: stopping time against lambda (B)")
    right.set(xlabel="lambda", ylabel="E(x(T*))", title="training error when the controls stop")
    for ax in (left, right):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6)
    save_figure(fig, out_dir / "stopping_time_vs_lambda.png")
    result["figures"].append("stopping_time_vs_lambda.png")
    result["stopping_time_vs_lambda"] = fits
    spread = {}
    for lam, pairs in sorted(by_lambda.items()):
        if len(pairs) >= 2:  # T* at this lambda for every T whose controls stop before T
            values = [s for _, s in pairs]
            spread[str(lam)] = {"T": [t for t, _ in pairs], "T_star": values, "range": max(values) - min(values)}
            result["lines"].append(
                f"lambda = {lam:g}: T* = {', '.join(f'{s:.3g}' for s in values)} at T = "
                f"{', '.join(f'{t:g}' for t, _ in pairs)} (range {max(values) - min(values):.3g})"
            )
    result["stopping_time_across_T"] = spread


def _finish(fig, ax, out_dir: Path, name: str, result: dict) -> None:
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    save_figure(fig, out_dir / name)
    result["figures"].append(name)


def _vs_lambda(curves, out_dir: Path, result: dict) -> None:
    fig, axes = subplots(1, 3, figsize=(12, 3.8))
    keys = (
        ("final_training_error", "E(x(T))"),
        ("regularization", "regularisation"),
        ("control_norm_max", "max ||u||"),
    )
    for label, rows in curves.items():
        lam = [r["lambda"] for r in rows]
        for ax, (key, name) in zip(axes, keys, strict=True):
            ax.loglog(lam, [r.get(key, np.nan) for r in rows], "o-", label=label)
            ax.set(xlabel="lambda", ylabel=name)
        errors = ", ".join(f"{r.get('final_training_error', np.nan):.3g}" for r in rows)
        result["lines"].append(f"E(x(T)) at lambda = {', '.join(f'{v:g}' for v in lam)}: {errors} [{label}]")
    for ax in axes:
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=7)
    fig.suptitle("Against the regularisation weight lambda")
    save_figure(fig, out_dir / "vs_lambda.png")
    result["figures"].append("vs_lambda.png")
