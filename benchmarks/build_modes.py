"""Build and solve time of the NLP as a CasADi MX graph (default) against one expanded SX graph.

Instance: benchmarks/data/annulus_N400_K20.npz (annulus-L2, N = 400, K = 20,
T = 5, lambda = 1e-3, RK4 x 1), from the instance's own initial controls, and a
smaller N = 100 cut of it. Prints times and the ratios expanded / default,
measured in this run.

    python benchmarks/build_modes.py [--n 100 400]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

import ocp
from problems.learning.datasets import Dataset
from problems.learning.l2 import l2_problem
from problems.learning.networks import NetworkDynamics

INSTANCE = Path(__file__).resolve().parent / "data" / "annulus_N400_K20.npz"


def run(data: Dataset, U0: np.ndarray, expand: bool) -> dict:
    problem, _ = l2_problem(data, NetworkDynamics("inside", "tanh"), T=5.0, lam=1e-3)
    start = time.perf_counter()
    solver = ocp.OCPSolver(problem, ocp.MultipleShooting(K=20), ocp.SolverOptions(expand=expand))
    build = time.perf_counter() - start
    sol = solver.solve(initial_guess=ocp.InitialGuess(controls=U0))
    t = sol.timings
    derivatives = sum(
        t.get(k, 0.0)
        for k in ("t_wall_nlp_f", "t_wall_nlp_g", "t_wall_nlp_grad_f", "t_wall_nlp_jac_g", "t_wall_nlp_hess_l")
    )
    return {
        "build": build,
        "solve": sol.solve_time_s,
        "iters": sol.iterations,
        "cost": sol.objective,
        "eval": derivatives,
        "status": sol.status,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, nargs="+", default=[100, 400])
    args = parser.parse_args()
    with np.load(INSTANCE) as raw:
        X, y, U0 = raw["X"], raw["y"], raw["U0"]
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"{'N':>5} {'mode':>8} {'build s':>8} {'solve s':>8} {'evals s':>8} {'iters':>6} {'cost':>10}  status")
    for n in args.n:
        # Keep the inner/outer proportions when cutting the instance: inner points come first.
        idx = np.r_[: n // 3, 400 // 3 : 400 // 3 + n - n // 3] if n < 400 else np.arange(400)
        data = Dataset(X[idx], y[idx])
        rows = {mode: run(data, U0, mode == "expanded") for mode in ("default", "expanded")}
        for mode, r in rows.items():
            print(
                f"{n:>5} {mode:>8} {r['build']:8.2f} {r['solve']:8.2f} {r['eval']:8.2f} {r['iters']:6d} "
                f"{r['cost']:10.6f}  {r['status']}"
            )
        d, e = rows["default"], rows["expanded"]
        print(
            f"{n:>5} ratio expanded/default: build {e['build'] / d['build']:.1f}x, "
            f"solve {e['solve'] / d['solve']:.2f}x, "
            f"total {(e['build'] + e['solve']) / (d['build'] + d['solve']):.2f}x"
        )


if __name__ == "__main__":
    main()
