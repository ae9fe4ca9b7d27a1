"""A space-time network whose width grows with depth against fixed widths, in one process.

    OMP_NUM_THREADS=1 python benchmarks/variable_width.py [--iterations 3]

The A1 annulus problem of configs/spacetime_variable_width.yaml (N = 100,
K = 20, T = 5, RK4, lambda = 1e-3, Gauss-Legendre): widths 2 -> 4 -> 8 (a
block of intervals each, `ocp.IntervalSizes`) against width 4 and width 8
throughout. Each is built once and solved by IPOPT for a fixed number of
iterations from the same kind of start (small random controls, seed 0,
states simulated; no first-order phase, so the iterations are comparable).
Reported: NLP variables, build time, seconds per IPOPT iteration, and the
ratio of each to the width-8 network's.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import ocp
from problems.learning.datasets import generate
from problems.learning.ensemble import random_controls
from problems.learning.l2 import l2_problem
from problems.learning.spacetime import SpaceTimeDynamics

K = 20


def measure(dynamics: SpaceTimeDynamics, data, iterations: int) -> dict:
    problem, _ = l2_problem(data, dynamics, T=5.0, lam=1e-3)
    method = ocp.MultipleShooting(K=K)
    options = ocp.SolverOptions(max_iter=iterations, first_order_iterations=0, check_optimality=False)
    begin = time.perf_counter()
    solver = ocp.OCPSolver(problem, method, options)
    build = time.perf_counter() - begin
    start = ocp.InitialGuess(controls=random_controls(K, problem.nu, 0.3, seed=0))
    sol = solver.solve(initial_guess=start)
    return {
        "variables": solver.nlp.layout.size,
        "build_s": build,
        "per_iteration_s": sol.solve_time_s / max(1, sol.iterations),
        "iterations": sol.iterations,
        "objective": sol.objective,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=3)
    args = parser.parse_args()
    full = generate("annulus", 300, 2, seed=0)
    data, _ = full.split(200, seed=0)  # the config's 100 training points
    cases = {
        "widths 2 -> 4 -> 8": SpaceTimeDynamics(widths=tuple(np.repeat([2, 4, 8], [7, 7, 6]))),
        "width 4": SpaceTimeDynamics(4),
        "width 8": SpaceTimeDynamics(8),
    }
    results = {}
    for name, dynamics in cases.items():
        results[name] = measure(dynamics, data, args.iterations)
        r = results[name]
        print(
            f"{name:18s} variables {r['variables']:6d}  build {r['build_s']:6.2f} s  "
            f"{r['per_iteration_s']:7.2f} s per IPOPT iteration ({r['iterations']} iterations)",
            flush=True,
        )
    base = results["width 8"]["per_iteration_s"]
    for name, r in results.items():
        print(f"{name:18s} time per iteration / width 8's: {r['per_iteration_s'] / base:.3f}")


if __name__ == "__main__":
    main()
