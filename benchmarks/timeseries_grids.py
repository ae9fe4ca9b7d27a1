"""Irregular sampling: per-member grids against the union grid, on one record, side by side.

    OMP_NUM_THREADS=1 python benchmarks/timeseries_grids.py [--members 64] [--samples 20] [--model linear]

The record: the damped linear oscillator of `problems/timeseries/series.py` (x' = A x), ``members``
trajectories from seeded initial states, each observed at ``samples`` sorted uniform random times of its
own on [0, 8] (the first at 0), with N(0, 0.01^2) noise; the first 75 % of the span is the training
window. The fit is the time-series problem type's (`data.grid: member` or `union`), RK4 at STEPS steps
per interval, IPOPT from the data. Reported per grid: nodes per member, NLP variables, build and solve
seconds, iterations, the objective and the forecast RMSE; the per-member grid's ratio to the union's.
Each fit runs in its own process with a time limit (LIMIT_S), so a grid too large to build says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from isolated import in_child  # noqa: E402

LIMIT_S = 900.0
STEPS = 8  # RK4 steps per interval (--steps)
T_END, NOISE = 8.0, 0.01


def record(members: int, samples: int, seed: int, path: Path) -> None:
    from scipy.integrate import solve_ivp

    from problems.timeseries.series import LINEAR_A, Series, Trajectory, write_csv

    rng = np.random.default_rng(seed)
    trajectories = []
    for _ in range(members):
        t = np.concatenate([[0.0], np.sort(rng.uniform(0.0, T_END, samples - 1))])
        start = rng.uniform(-1.0, 1.0, size=2)
        run = solve_ivp(lambda _, x: LINEAR_A @ x, (0.0, T_END), start, t_eval=t, rtol=1e-10, atol=1e-12)
        trajectories.append(Trajectory(t, run.y.T + NOISE * rng.normal(size=run.y.T.shape)))
    write_csv(Series(tuple(trajectories), ("x1", "x2")), path)


def fit(path: str, grid: str, model: str, steps: int, queue) -> None:
    import ocp
    from ocp.run.solve import parse_config
    from problems.timeseries.report import errors

    data = {
        "problem": "timeseries",
        "integrator": "rk4",
        "steps": steps,
        "parallelization": "serial",
        "lambda": 1e-6,
        "data": {"source": "file", "path": path, "grid": grid},
        "model": {"kind": model, "widths": [16]},
        "initialization": {"strategy": "simulate"},
        "multistart": {"starts": 1, "extra_strategies": [], "first_start_strategies": []},
        "solver": {"max_iter": 500, "tol": 1e-8, "check_optimality": False},
    }
    run, settings, ptype = parse_config(data)
    begin = time.perf_counter()
    setup = ptype.build(settings, run)
    solver = ocp.OCPSolver(setup.problem, setup.run.discretisation(), setup.run.solver.options())
    build = time.perf_counter() - begin
    sol = solver.solve(T=setup.run.T, initial_guess=setup.initial_guess)
    queue.put(
        {
            "grid": grid,
            "nodes_per_member": setup.summary["nodes_per_member"],
            "variables": int(sol.primal.size),
            "build_s": build,
            "solve_s": sol.solve_time_s,
            "iterations": sol.iterations,
            "status": str(sol.status),
            "objective": sol.objective,
            "forecast_rmse": errors(setup.context, sol)["forecast_rmse"],
        }
    )


def run_fit(path: Path, grid: str, model: str, steps: int) -> dict:
    return {"grid": grid, **in_child(fit, (str(path), grid, model, steps), LIMIT_S)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=64)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--model", default="linear", choices=["linear", "mlp"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, nargs="*", default=[STEPS], help="RK4 steps per interval, each a row pair")
    parser.add_argument("--out", type=Path, default=Path("results/timeseries_grids.json"))
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp()) / "irregular.csv"
    record(args.members, args.samples, args.seed, path)
    print(f"{args.members} members x {args.samples} random times each, model {args.model}")
    columns = (
        "grid, RK4 steps, nodes per member, variables, build s, solve s, iterations, status, objective, forecast RMSE"
    )
    print("| " + " | ".join(columns.split(", ")) + " |")
    print("| --- " * 10 + "|")
    rows = []
    for steps in args.steps:
        pair = [run_fit(path, grid, args.model, steps) for grid in ("member", "union")]
        rows += pair
        for r in pair:
            if "failed" in r:
                print(f"| {r['grid']} | {steps} | {r['failed']} | | | | | | | |", flush=True)
                continue
            print(
                f"| {r['grid']} | {steps} | {r['nodes_per_member']} | {r['variables']} | {r['build_s']:.2f} | "
                f"{r['solve_s']:.2f} | {r['iterations']} | {r['status']} | {r['objective']:.10g} | "
                f"{r['forecast_rmse']:.4f} |",
                flush=True,
            )
        if all("failed" not in r for r in pair):
            own, union = pair
            total = (own["build_s"] + own["solve_s"]) / (union["build_s"] + union["solve_s"])
            difference = abs(own["objective"] - union["objective"]) / union["objective"]
            variables = own["variables"] / union["variables"]
            print(f"  per-member / union: build + solve {total:.3f}, variables {variables:.3f}")
            print(f"  objective difference (relative): {difference:.2e}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
