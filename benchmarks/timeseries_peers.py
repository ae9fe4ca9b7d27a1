"""The time-series fit, side by side: multiple shooting (the toolkit) against its peers, from S random inits.

The instance is `configs/timeseries_van_der_pol.yaml`: 4 noisy Van der Pol trajectories, 75 samples each
in the training window (about 2.3 periods), 25 held out; an MLP 2-16-2 (82 weights), lambda 1e-5. Each
initialisation s draws the weights of seed s (`VectorField.initial_weights`); every method starts from
those weights and from the data (the initial states at the first samples; the methods that have node or
collocation states start them at the data).

Methods:
- ``multiple_shooting``: the toolkit, the config as shipped (IPOPT, exact Hessian, started at the data
  with no first-order phase, as `ocp solve` runs it);
- ``collocation``: the fully discretised peer (`peers/collocation_timeseries.py`, CasADi + IPOPT);
- ``rk4_loop_adam``: a plain PyTorch RK4 loop trained with Adam (`peers/torch_timeseries.py`);
- ``torchdiffeq_{direct,adjoint}_{adam,lbfgs}``: torchdiffeq, back-propagating through the solver or by
  its adjoint, trained with Adam or L-BFGS.
The gradient methods run for WALL_S seconds each (or until L-BFGS stops making progress), so the
fraction of runs that reach the best fit is that of a budget over 5x the toolkit's time.

Every final fit is scored by one evaluator: the toolkit's objective of the single-shooting simulation
(classical RK4, the config's sub-steps) from the method's initial states and weights, so a fit whose
node states do not join counts at what its weights really do. "Best fit" = within WITHIN of the best
score of all runs: the relative standard error of a mean of 1200 squared Gaussian residuals is
sqrt(2 / 1200) = 4 %, so minima closer than that fit the data equally well. Time to the best fit: for the
IPOPT methods the whole time (build and solve) of a run that reaches it; for the gradient methods the
first time its own training loss came within WITHIN of the best score. Forecast RMSE: the fitted model
run freely (scipy) over the held-out quarter, in the data's units (`problems/timeseries/report.errors`).

    python benchmarks/timeseries_peers.py [--starts 20] [--processes 2] [--methods ...] [--wall-s 80] [--out DIR]
    python benchmarks/timeseries_peers.py --summarise DIR/timeseries_peers.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import casadi as ca
import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))  # peers

import ocp  # noqa: E402
from ocp.run.solve import parse_config  # noqa: E402
from problems.timeseries.report import errors  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "timeseries_van_der_pol.yaml"
GRADIENT = tuple(
    f"{sim}_{opt}"
    for sim, opt in [
        ("rk4_loop", "adam"),
        ("torchdiffeq_direct", "adam"),
        ("torchdiffeq_adjoint", "adam"),
        ("torchdiffeq_direct", "lbfgs"),
        ("torchdiffeq_adjoint", "lbfgs"),
    ]
)
METHODS = ("multiple_shooting", "collocation", *GRADIENT)
WALL_S = 80.0  # each gradient run's budget: over 5x the toolkit's time to its fit on this machine
WITHIN = 0.05
LOOSE = 2.0  # a second, looser target: an objective within twice the best


def instance():
    run, settings, ptype = parse_config(yaml.safe_load(CONFIG.read_text()))
    setup = ptype.build(settings, run)
    ctx = setup.context
    samples = ctx.grid.samples(ctx.train, ctx.scaling)
    return setup, ctx, samples


def score(ctx, samples, theta: np.ndarray, x0: np.ndarray, lam: float, steps: int) -> tuple[float, np.ndarray]:
    """The toolkit's objective of the single-shooting simulation (classical RK4) and the simulated nodes."""
    f = ca.Function("f", [ctx.state, ctx.model.theta], [ctx.model.field])
    times = ctx.grid.times
    x = np.array(x0, dtype=float).T  # (nx, N): every member at once
    nodes = [x.T.copy()]
    with np.errstate(all="ignore"):
        for k in range(times.size - 1):
            h = (times[k + 1] - times[k]) / steps
            for _ in range(steps):
                k1 = np.asarray(f(x, theta))
                k2 = np.asarray(f(x + h / 2 * k1, theta))
                k3 = np.asarray(f(x + h / 2 * k2, theta))
                k4 = np.asarray(f(x + h * k3, theta))
                x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            nodes.append(x.T.copy())
    states = np.stack(nodes, axis=1)  # (N, K + 1, nx)
    observed = np.isfinite(samples)
    misfit = np.sum(((states - np.nan_to_num(samples)) * observed) ** 2) / observed.sum()
    value = float(misfit + lam * np.sum(theta**2))
    return (value if np.isfinite(value) else np.inf), states


def run_one(method: str, seed: int, wall_s: float) -> dict:
    setup, ctx, samples = instance()
    lam, steps = ctx.settings.lam, setup.run.steps
    theta0 = ctx.model.initial_weights(ctx.settings.model.init_scale, seed)
    state_guess = np.asarray(setup.initial_guess.states)
    record: dict = {"method": method, "seed": seed}
    if method == "multiple_shooting":
        guess = replace(setup.initial_guess, free_parameters={"theta": theta0})
        options = replace(setup.run.solver.options(), check_optimality=False, first_order_iterations=0)
        begin = time.perf_counter()
        solution = ocp.OCPSolver(setup.problem, setup.run.discretisation(), options).solve(
            T=setup.run.T, initial_guess=guess
        )
        wall = time.perf_counter() - begin
        theta, x0 = np.asarray(solution.free_parameters["theta"]), np.asarray(solution.states)[:, 0]
        record |= {"wall_s": wall, "iterations": solution.iterations, "status": str(solution.status), "trace": []}
    elif method == "collocation":
        from peers.collocation_timeseries import fit

        solver = setup.run.solver.options()
        result = fit(
            state=ctx.state,
            theta=ctx.model.theta,
            field=ctx.model.field,
            theta0=theta0,
            times=ctx.grid.times,
            samples=samples,
            state_guess=state_guess,
            lam=lam,
            tol=solver.tol,
            max_iter=solver.max_iter,
        )
        theta, x0 = result.theta, result.states[:, 0]
        wall = result.build_s + result.solve_s
        record |= {"wall_s": wall, "build_s": result.build_s, "iterations": result.iterations}
        record |= {"status": result.status, "trace": []}
    else:
        from peers.torch_timeseries import train

        simulate_with = method.split("_")[1] if method.startswith("torchdiffeq") else "loop"
        optimiser = method.rsplit("_", 1)[1]
        result = train(
            shapes=ctx.model.shapes,
            theta0=theta0,
            x0=state_guess[:, 0],
            times=ctx.grid.times,
            samples=samples,
            lam=lam,
            steps=steps,
            simulate_with=simulate_with,
            optimiser=optimiser,
            max_iterations=10**6,
            wall_s=wall_s,
        )
        theta, x0, wall = result.theta, result.x0, result.wall_s
        record |= {"wall_s": wall, "iterations": result.iterations, "status": "budget", "trace": result.trace}
    value, states = score(ctx, samples, theta, x0, lam, steps)
    fitted = SimpleNamespace(free_parameters={"theta": theta}, states=states)
    record |= {"score": value}
    record |= errors(ctx, fitted) if np.isfinite(value) else {"train_rmse": np.inf, "forecast_rmse": np.inf}
    print(f"  {method:30s} seed {seed:2d}: score {value:.6g}, {wall:6.1f} s", flush=True)
    return record


def time_to(record: dict, target: float) -> float:
    if not record["trace"]:
        return record["wall_s"] if record["score"] <= target else np.inf
    return next((t for t, loss in record["trace"] if loss <= target), np.inf)


def summarise(records: list[dict], starts: int) -> list[dict]:
    best = min(r["score"] for r in records)
    target = best * (1 + WITHIN)
    rows = []
    for method in dict.fromkeys(r["method"] for r in records):
        mine = [r for r in records if r["method"] == method]
        times = np.array([time_to(r, target) for r in mine])
        reached = np.isfinite(times)
        loose = np.array([time_to(r, LOOSE * best) for r in mine])
        scores = np.array([r["score"] for r in mine])
        rows.append(
            {
                "method": method,
                "runs": len(mine),
                "reached": int(reached.sum()),
                "time_to_best_median_s": float(np.median(times[reached])) if reached.any() else None,
                "reached_loose": int(np.isfinite(loose).sum()),
                "time_to_loose_median_s": float(np.median(loose[np.isfinite(loose)]))
                if np.isfinite(loose).any()
                else None,
                "score_median": float(np.median(scores)),
                "train_rmse_median": float(np.median([r["train_rmse"] for r in mine])),
                "forecast_rmse_median": float(np.median([r["forecast_rmse"] for r in mine])),
                "iterations_median": float(np.median([r["iterations"] for r in mine])),
                "wall_s_median": float(np.median([r["wall_s"] for r in mine])),
            }
        )
    print(f"\n{starts} initialisations; best score {best:.7f}; best fit = within {WITHIN:.0%} of it")
    print(
        f"{'method':30s} {'reached':>8s} {'t best s':>9s} {f'<{LOOSE:g}x':>8s} {'t s':>6s} {'score med':>10s} "
        f"{'train':>7s} {'forecast':>9s} {'its':>6s} {'wall s':>7s}"
    )
    for row in rows:
        t, t_loose = row["time_to_best_median_s"], row["time_to_loose_median_s"]
        print(
            f"{row['method']:30s} {row['reached']:>3d}/{row['runs']:<4d} {'-' if t is None else f'{t:.1f}':>9s} "
            f"{row['reached_loose']:>4d}/{row['runs']:<3d} {'-' if t_loose is None else f'{t_loose:.1f}':>6s} "
            f"{row['score_median']:10.5f} {row['train_rmse_median']:7.4f} {row['forecast_rmse_median']:9.4f} "
            f"{row['iterations_median']:6.0f} {row['wall_s_median']:7.1f}"
        )
    return rows


def plot(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(dict.fromkeys(r["method"] for r in records))
    best = min(r["score"] for r in records)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for i, method in enumerate(methods):
        for r in (r for r in records if r["method"] == method):
            if r["trace"]:
                t, loss = np.array(r["trace"]).T
                ax.plot(t, np.minimum.accumulate(loss) / best, color=f"C{i}", lw=0.6, alpha=0.5)  # best so far
            else:
                ax.plot(r["wall_s"], min(r["score"], 1e6) / best, "o", color=f"C{i}", ms=4)
        ax.plot([], [], color=f"C{i}", label=method)
    ax.axhline(1 + WITHIN, color="k", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("seconds since the start (dots: the IPOPT methods' end, build included)")
    ax.set_ylabel("best objective so far / best score")
    ax.set_title("Van der Pol fit from random initialisations (dashed: the best fit)")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--wall-s", type=float, default=WALL_S, help="each gradient run's time budget")
    parser.add_argument("--out", type=Path, default=Path("results/timeseries_peers"))
    parser.add_argument("--summarise", type=Path, help="only summarise and plot a run's timeseries_peers.json")
    args = parser.parse_args()
    if args.summarise:
        records = json.loads(args.summarise.read_text())["records"]
        summarise(records, len({r["seed"] for r in records}))
        plot(records, args.summarise.with_suffix(".png"))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"{platform.processor() or platform.machine()}, {mp.cpu_count()} cores; {args.processes} processes")
    tasks = [(method, seed, args.wall_s) for seed in range(args.starts) for method in args.methods]
    with mp.get_context("spawn").Pool(args.processes, maxtasksperchild=1) as pool:
        records = pool.starmap(run_one, tasks, chunksize=1)
    rows = summarise(records, args.starts)
    (args.out / "timeseries_peers.json").write_text(json.dumps({"records": records, "summary": rows}, default=float))
    plot(records, args.out / "timeseries_peers.png")
    print(f"written: {args.out}/timeseries_peers.json, timeseries_peers.png")


if __name__ == "__main__":
    main()
