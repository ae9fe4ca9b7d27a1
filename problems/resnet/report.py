"""Metrics and figures of the ResNet problem (docs/science.md, C; Marion et al., Figures 1 and 2).

Per solve (`report`): the training loss over iterations; max_k ||Z_{k+1} - Z_k||_F
at every recorded iteration (Z_k the weights of layer k, the rows of the
controls); a few weight coefficients against k / L at several iterations
(Figure 2); optionally IPOPT from the trained endpoint on the same discrete
problem (``compare_ipopt``).

Over a sweep of the depth L = K (`sweep_report`): max_k ||Z_{k+1} - Z_k||_F
against L on log-log axes, one curve per recorded iteration, with the fitted
slope (Figure 1 left: about -1 from a smooth initialisation, about 0 from an
iid one), and the distance of each depth's trained weights to those of the
deepest network, as a function of k / L (Figure 1 right).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

import ocp
from ocp.analysis import exponential, power_law
from ocp.plotting import save_figure, subplots
from ocp.run.registry import Setup
from ocp.run.settings import RunSettings

from .model import ResNetContext

log = logging.getLogger("problems.resnet")  # shown by the CLI as [resnet] (`ocp/logs.py`)

COEFFICIENTS = 3  # weight coefficients drawn per matrix in Figure 2


def max_increment(weights: np.ndarray) -> float:
    """max_k ||Z_{k+1} - Z_k||_F over the layers of ``weights`` (L, nu); 0 for one layer."""
    weights = np.asarray(weights, dtype=float)
    if weights.shape[0] < 2:
        return 0.0
    return float(np.max(np.linalg.norm(np.diff(weights, axis=0), axis=1)))


def distance_to_reference(weights: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(s, ||Z^L(s) - Z^ref(s)||_F) at the layer midpoints s = (k + 1/2) / L, both as step functions on [0, 1]."""
    L, L_ref = weights.shape[0], reference.shape[0]
    s = (np.arange(L) + 0.5) / L
    return s, np.linalg.norm(weights - reference[np.minimum((s * L_ref).astype(int), L_ref - 1)], axis=1)


def report(setup: Setup[ResNetContext], run: RunSettings, solution: ocp.Solution, out_dir: Path) -> dict[str, Any]:
    ctx = setup.context
    snapshots = solution.snapshots if solution.snapshots.size else solution.controls[None]
    training = solution.training  # None when IPOPT trained (no gradient-flow record)
    checkpoints = list(training.recorded_iterations if training else [solution.iterations])
    increments = [max_increment(z) for z in snapshots]
    result: dict[str, Any] = {
        "init": ctx.settings.init,
        "loss": solution.costs.get("loss"),
        "checkpoints": checkpoints,
        "max_increment": increments,
        "weight_norm_max": float(np.max(np.linalg.norm(solution.controls, axis=1))),
    }
    if training:
        rate = _linear_convergence(training.objective)
        _training_loss(training.objective, out_dir / "training_loss.png", rate)
        if rate is not None:
            result["loss_decay_per_step"] = {"rate": rate.mu, "r2": rate.r2, "window": list(rate.window)}
    _weights_vs_layer(snapshots, checkpoints, ctx.shape, out_dir / "weights_vs_layer.png")
    if ctx.settings.compare_ipopt:
        result |= _ipopt_from(setup, run, solution)
    return result


def _ipopt_from(setup: Setup[ResNetContext], run: RunSettings, solution: ocp.Solution) -> dict[str, Any]:
    """IPOPT on the same discrete problem, started at the trained weights (states simulated)."""
    options = ocp.SolverOptions(first_order_iterations=0, check_optimality=False, tol=run.solver.tol)
    solver = ocp.OCPSolver(setup.problem, run.discretisation(), options)
    parameters = {p.name: p.value for p in setup.problem.parameters}
    optimum = solver.solve(parameters=parameters, T=run.T, initial_guess=ocp.InitialGuess(controls=solution.controls))
    log.info(
        f"IPOPT from the trained weights: {optimum.status} after {optimum.iterations} iterations, "
        f"objective {optimum.objective:.6g} (gradient flow: {solution.objective:.6g})",
    )
    return {
        "ipopt_objective": optimum.objective,
        "ipopt_iterations": optimum.iterations,
        "ipopt_status": optimum.status,
        "ipopt_max_increment": max_increment(optimum.controls),
    }


# a squared loss cannot fall below ~1e-32 of its scale in double precision, and the decay flattens from
# rounding a few decades above that (measured on configs/resnet_long.yaml: from about 1e-28)
ROUNDING_FLOOR = 1e-20


def _linear_convergence(objective: Sequence[float]):
    """The loss ~ C exp(-rate x step) after the first tenth of training (linear convergence, as a
    Polyak-Lojasiewicz inequality predicts for gradient descent), over the values above ROUNDING_FLOOR x
    the first one; None for fewer than 20 steps."""
    values = np.asarray(objective, dtype=float)
    if values.size < 20 or not np.all(values > 0):
        return None
    steps = np.arange(values.size)
    return exponential(steps, values, window=(0.1, 1.0), floor=ROUNDING_FLOOR * values[0])


def _training_loss(objective: Sequence[float], path: Path, rate=None) -> Path:
    fig, ax = subplots(figsize=(5, 3.5))
    ax.semilogy(np.arange(len(objective)), objective, label="training objective")
    if rate is not None:
        steps = np.linspace(*rate.window, 50)
        ax.semilogy(steps, rate(steps), "--", label=f"exp(-{rate.mu:.3g} step), R^2 {rate.r2:.3f}")
        ax.legend(fontsize=8)
    ax.set(xlabel="iteration", ylabel="training objective", title="gradient flow")
    ax.grid(True, which="both", alpha=0.3)
    return save_figure(fig, path)


def _weights_vs_layer(snapshots: np.ndarray, checkpoints: Sequence[int], shape, path: Path) -> Path:
    """Figure 2: the first coefficients of V_k and W_k against k / L, one line style per recorded iteration."""
    L = snapshots.shape[1]
    s = (np.arange(L) + 0.5) / L
    picks = np.linspace(0, len(snapshots) - 1, min(4, len(snapshots))).round().astype(int)
    fig, axes = subplots(1, 2, figsize=(10, 3.8), sharex=True)
    first_w = shape.d * shape.m  # W starts after V in each layer's controls
    for ax, offset, name in ((axes[0], 0, "V"), (axes[1], first_w, "W")):
        for j, index in enumerate(picks):
            for c in range(COEFFICIENTS):
                label = f"iteration {checkpoints[index]}" if c == 0 else None
                ax.plot(s, snapshots[index][:, offset + c], color=f"C{j}", lw=1, label=label)
        ax.set(xlabel="k / L", ylabel=f"first {COEFFICIENTS} coefficients of {name}_k", title=f"{name}_k, L = {L}")
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    return save_figure(fig, path)


def sweep_report(records: Sequence[dict[str, Any]], axes: Sequence[str], out_dir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"lines": [], "figures": [], "increment_slope": {}, "distance_to_deepest": {}}
    good = [r for r in records if r.get("max_increment")]
    if len({r["K"] for r in good}) < 2:
        return result
    others = [a for a in axes if a != "K" and len({repr(r.get(a)) for r in good}) > 1]
    curves: dict[str, list[dict[str, Any]]] = {}
    for r in good:
        label = ", ".join(f"{a} = {r[a]}" for a in others) or f"{r.get('init', '')} init".strip()
        curves.setdefault(label, []).append(r)
    curves = {k: sorted(v, key=lambda r: r["K"]) for k, v in curves.items()}
    path = out_dir / "max_increment_vs_L.png"
    fig, ax = subplots(figsize=(5.5, 4))
    for j, (label, points) in enumerate(curves.items()):
        L = np.array([r["K"] for r in points], dtype=float)
        checkpoints = points[0]["checkpoints"]
        columns = [c for c in range(len(checkpoints)) if all(len(r["max_increment"]) > c for r in points)]
        for n, c in enumerate(columns):
            values = np.array([r["max_increment"][c] for r in points])
            style = "-" if n == len(columns) - 1 else ":"
            ax.loglog(L, values, style, marker="o", ms=3, color=f"C{j}", alpha=0.4 + 0.6 * (n + 1) / len(columns))
        final = np.array([r["max_increment"][columns[-1]] for r in points])
        if np.all(final > 0):
            fit = power_law(L, final)
            slope = -fit.alpha
            result["increment_slope"][label] = {"slope": slope, "r2": fit.r2, "iteration": checkpoints[columns[-1]]}
            ax.plot([], [], "-", color=f"C{j}", label=f"{label}: slope {slope:.2f}")
            result["lines"].append(
                f"{label}: max_k ||Z_(k+1) - Z_k||_F ~ L^-alpha, alpha = {fit.rate_text()}, at iteration "
                f"{checkpoints[columns[-1]]}, L = {int(L[0])}..{int(L[-1])}"
            )
        else:
            result["lines"].append(f"{label}: max_k ||Z_(k+1) - Z_k||_F is 0 at some depth; no slope fitted")
    ax.set(xlabel="depth L", ylabel="max_k ||Z_(k+1) - Z_k||_F", title="one line per recorded iteration (solid: last)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    result["figures"].append(str(save_figure(fig, path)))
    distances = _distances(curves, out_dir, result)
    if distances is not None:
        result["figures"].append(str(distances))
    return result


def _distances(curves: dict[str, list[dict[str, Any]]], out_dir: Path, result: dict) -> Path | None:
    """Figure 1 right: ||Z^L(k/L) - Z^{L_max}(k/L)||_F for every L below the deepest, from the stored solutions."""
    fig, panels = subplots(1, len(curves), figsize=(5.5 * len(curves), 4), squeeze=False)
    drawn = False
    overall: dict[str, list[tuple[int, float]]] = {}  # label -> (L, ||Z^L - Z^Lmax||_L2(0,1))
    for ax, (label, points) in zip(panels[0], curves.items(), strict=True):
        stored = [out_dir / "points" / r["point"] / "solution.npz" for r in points]
        if not all(p.is_file() for p in stored):
            continue
        weights = [ocp.Solution.load(p).controls for p in stored]
        for j, (r, z) in enumerate(zip(points[:-1], weights[:-1], strict=True)):
            s, distance = distance_to_reference(z, weights[-1])
            overall.setdefault(label, []).append((r["K"], float(np.sqrt(np.mean(distance**2)))))
            ax.semilogy(
                s,
                np.maximum(distance, 1e-16),
                color=matplotlib.colormaps["viridis"](j / max(1, len(points) - 2)),
                lw=1,
                label=f"L = {r['K']}",
            )
        ax.set(xlabel="k / L", ylabel=f"||Z^L - Z^{points[-1]['K']}||_F", title=label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
        drawn = True
    if not drawn:
        return None
    save_figure(fig, out_dir / "distance_to_deepest.png")
    _distance_vs_L(overall, curves, out_dir, result)
    return out_dir / "distance_to_deepest.png"


def _distance_vs_L(overall, curves, out_dir: Path, result: dict) -> None:
    """The convergence to a continuous-depth limit: ||Z^L - Z^Lmax||_L2(0,1) against L with a fitted
    C L^-alpha over the depths below the deepest (its own error makes the last points flatten)."""
    fig, ax = subplots(figsize=(5.5, 4))
    for j, (label, pairs) in enumerate(overall.items()):
        L = np.array([p[0] for p in pairs], dtype=float)
        distance = np.array([p[1] for p in pairs])
        ax.loglog(L, distance, "o-", color=f"C{j}", label=label)
        deepest = curves[label][-1]["K"]
        use = (distance > 0) & (L <= deepest / 4)  # far enough from the reference depth
        if use.sum() >= 2:
            fit = power_law(L[use], distance[use])
            result["distance_to_deepest"][label] = {"alpha": fit.alpha, "r2": fit.r2, "L": L[use].tolist()}
            result["lines"].append(
                f"{label}: ||Z^L - Z^{deepest}||_L2(0,1) ~ L^-alpha, alpha = {fit.rate_text()}, "
                f"L = {int(L[use][0])}..{int(L[use][-1])}"
            )
            grid = np.geomspace(L[use][0], L[use][-1], 20)
            ax.loglog(grid, fit(grid), "--", color=f"C{j}", label=f"L^-{fit.alpha:.2f}")
    ax.set(xlabel="depth L", ylabel="||Z^L - Z^deepest||_L2(0,1)", title="convergence to a continuous-depth limit")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, out_dir / "distance_to_deepest_vs_L.png")
    result["figures"].append("distance_to_deepest_vs_L.png")
