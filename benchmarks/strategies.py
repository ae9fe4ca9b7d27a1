"""Which start finds the best optimum: every initialisation strategy on a set of learning problems.

    OMP_NUM_THREADS=1 python benchmarks/strategies.py [--quick] [--processes 2]

Instances: problem A1 (`problems.l2`: inside dynamics, tanh, squared loss on
tanh(x_1(T)), T = 5, K = 20, lambda = 1e-3) on the annulus, XOR and
two-spirals sets, N in {100, 400} x seeds {0, 1, 2}, plus N = 1000 on annulus
and spirals (seed 0): 20 instances. The start is the CLI's: controls 0.3 x
N(0, 1) seeded by the instance seed, states simulated.

Methods, each from that start:
- IPOPT strategies (`ocp.strategies`): first_order (the default), simulate
  (plain IPOPT), coarse_grid, continuation_T, continuation_lambda;
- multi-start (`ocp.multistart`, scale 1.0): best of 4 and of 8 starts, the
  starts solved one after another here (time = their sum; with W workers the
  wall time is about sum / W);
- references: scipy L-BFGS-B run to convergence on the condensed objective
  (3000 iterations at most), PyTorch L-BFGS (20 s budget) and Adam (10 s).

Each instance runs in its own process. For every method: final cost relative
to the best cost any method found on that instance, and time. Writes
results/strategies.json and prints the table for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # peers

T, K, LAM, SCALE = 5.0, 20, 1e-3, 0.3
STRATEGIES = ("first_order", "simulate", "coarse_grid", "continuation_T", "continuation_lambda")
MULTISTART = (4, 8)


def instances(quick: bool) -> list[tuple[str, int, int]]:
    if quick:
        return [(name, 100, 0) for name in ("annulus", "xor", "spirals")]
    full = [(name, n, seed) for n in (100, 400) for seed in (0, 1, 2) for name in ("annulus", "xor", "spirals")]
    return full + [("annulus", 1000, 0), ("spirals", 1000, 0)]


def run_instance(spec: tuple[str, int, int]) -> dict:
    import ocp
    from ocp.multistart import random_starts
    from ocp.strategies import Initialization, solve_with
    from problems.datasets import generate
    from problems.l2 import l2_problem
    from problems.learning import random_controls
    from problems.networks import NetworkDynamics

    name, n, seed = spec
    data = generate(name, n, 2, seed=seed)
    problem, _ = l2_problem(data, NetworkDynamics("inside", "tanh"), T=T, lam=LAM)
    U0 = random_controls(K, problem.nu, SCALE, seed)
    guess = ocp.InitialGuess(controls=U0)
    method = ocp.MultipleShooting(K=K)
    build = time.perf_counter()
    solver = ocp.OCPSolver(problem, method, ocp.SolverOptions(check_optimality=False))
    build = time.perf_counter() - build
    rows: dict[str, dict] = {}

    def timed(label: str, run) -> ocp.Solution:
        start = time.perf_counter()
        sol = run()
        rows[label] = {
            "cost": sol.objective,
            "success": sol.success,
            "iterations": sol.iterations,
            "time_s": time.perf_counter() - start,
        }
        return sol

    inits = {
        "first_order": Initialization("first_order"),
        "simulate": Initialization("simulate"),
        "coarse_grid": Initialization("coarse_grid"),
        "continuation_T": Initialization("continuation_T"),
        "continuation_lambda": Initialization("continuation_parameter", parameter="lambda"),
    }
    for label, init in inits.items():
        timed(label, lambda init=init: solve_with(solver, init, initial_guess=guess))
    starts = random_starts(guess, K, problem.nu, max(MULTISTART), 1.0, seed)
    singles = [rows["first_order"]]
    for i, start in enumerate(starts[1:], 1):
        timed(f"start {i}", lambda start=start: solve_with(solver, initial_guess=start))
        singles.append(rows.pop(f"start {i}"))
    for m in MULTISTART:
        ok = [r for r in singles[:m] if r["success"]]
        rows[f"multistart {m}"] = {
            "cost": min(r["cost"] for r in ok) if ok else float("nan"),
            "success": bool(ok),
            "time_s": sum(r["time_s"] for r in singles[:m]),
            "costs": [r["cost"] for r in singles[:m]],
        }

    rows |= references(solver, problem, data, U0, guess)
    finite = [r["cost"] for r in rows.values() if r["success"] and np.isfinite(r["cost"])]
    best = min(finite)
    for r in rows.values():
        r["gap"] = (r["cost"] - best) / best if r["success"] else None
    print(f"done {name} N={n} seed={seed}: best {best:.6g}", flush=True)
    return {"dataset": name, "N": n, "seed": seed, "build_s": build, "best": best, "methods": rows}


def references(solver, problem, data, U0, guess) -> dict[str, dict]:
    from peers import torch_baseline

    out = {}
    # scipy L-BFGS-B to convergence: the toolkit's first-order phase with a large iteration cap.
    phase = solver._condensed_phase()
    p = solver._nlp_parameters({}, None, None)
    lbx, ubx = solver._bounds(None)
    w0 = solver._start(guess, {}, None, None, None)
    start = time.perf_counter()
    _, report = phase.run(w0, lbx, ubx, p, 3000)
    out["scipy L-BFGS-B"] = {
        "cost": report.objective_end,
        "success": True,
        "iterations": report.iterations,
        "time_s": time.perf_counter() - start,
    }
    X, y = data.x, data.y.ravel()
    for method, budget in (("lbfgs", 20.0), ("adam", 10.0)):
        r = torch_baseline.train(
            X, y, U0, T=T, K=K, lam=LAM, method=method, targets={}, max_iters=10**6, time_budget_s=budget
        )
        out[f"PyTorch {method}"] = {
            "cost": r["best_cost"],
            "success": True,
            "iterations": r["iterations"],
            "time_s": r["wall_s"],
        }
    return out


def table(results: list[dict]) -> str:
    labels = list(results[0]["methods"])
    lines = [
        "| method | within 0.1 % | within 1 % | median gap | worst gap | median time s | time / first_order |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label in labels:
        gaps = np.array(
            [r["methods"][label]["gap"] if r["methods"][label]["gap"] is not None else np.inf for r in results]
        )
        times = np.array([r["methods"][label]["time_s"] for r in results])
        ratio = np.median(times / np.array([r["methods"]["first_order"]["time_s"] for r in results]))
        lines.append(
            f"| {label} | {np.mean(gaps <= 1e-3):.0%} | {np.mean(gaps <= 1e-2):.0%} | {np.median(gaps):.2%} | "
            f"{gaps.max():.1%} | {np.median(times):.2f} | {ratio:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="three N = 100 instances")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "results" / "strategies.json"))
    args = parser.parse_args()
    specs = instances(args.quick)
    start = time.perf_counter()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    results = []
    with ProcessPoolExecutor(args.processes, mp_context=get_context("spawn")) as pool:
        for result in pool.map(run_instance, specs):  # written after each instance: a cut-off run keeps its part
            results.append(result)
            Path(args.out).write_text(json.dumps(results, indent=1, default=float))
    print(f"{len(results)} instances in {time.perf_counter() - start:.0f} s; wrote {args.out}")
    print(table(results))


if __name__ == "__main__":
    main()
