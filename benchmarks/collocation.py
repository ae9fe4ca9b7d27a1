"""Direct collocation against multiple shooting on the same problems, one script, one machine.

    OMP_NUM_THREADS=1 python benchmarks/collocation.py

Each row solves one problem from one start with one transcription: multiple shooting with RK4 (the
default, the baseline of the ratios), multiple shooting with Radau IIA of 2 points (the same
discretisation as collocation with 2 Radau points, the stage equations solved by Newton inside the
NLP), and direct collocation with 2 and 3 Radau points. Each solve is capped at WALL_S seconds.
Reported: build and solve seconds, IPOPT iterations, the objective, and solve time as a ratio to the
baseline's.

- the shipped time-series config `configs/timeseries_van_der_pol.yaml` (82 weights; its own start);
- problem A1 on the annulus, N = 60, K = 20, T = 5 (`problems.learning`), from the first-order start
  and from a plain simulated start (controls 0.3 x N(0, 1), seed 0);
- the stiff linear-quadratic problem of `tests/test_stiff.py` (eigenvalues -1 and -1000, K = 50), where
  RK4 needs 800 steps per interval for 1e-8 (RK4 at 36 steps is the smallest stable count).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

MAX_ITER = 1000
WALL_S = 240.0  # per solve: IPOPT's own cap (a row that hits it says Maximum_WallTime_Exceeded)


def methods(K: int):
    import ocp

    return {
        "MS rk4": ocp.MultipleShooting(K=K),
        "DC radau 2": ocp.DirectCollocation(K=K, degree=2),
        "DC radau 3": ocp.DirectCollocation(K=K, degree=3),
        "MS radau(2)": ocp.MultipleShooting(K=K, integrator=ocp.Radau(degree=2, newton=6)),
    }


def solve_row(problem, method, strategy, guess, parameters=None, T=None) -> dict:
    import ocp
    from ocp.search.strategies import Initialization, solve_with

    options = ocp.SolverOptions(check_optimality=False, max_iter=MAX_ITER, ipopt={"max_wall_time": WALL_S})
    begin = time.perf_counter()
    solver = ocp.OCPSolver(problem, method, options)
    build = time.perf_counter() - begin
    sol = solve_with(solver, Initialization(strategy), initial_guess=guess, parameters=parameters or {}, T=T)
    return {
        "build_s": build,
        "solve_s": sol.solve_time_s,
        "iterations": sol.iterations,
        "objective": sol.objective,
        "status": str(sol.status),
    }


def timeseries_rows():
    import yaml

    from ocp.run.solve import parse_config

    text = yaml.safe_load((HERE.parent / "configs" / "timeseries_van_der_pol.yaml").read_text())
    run, settings, ptype = parse_config(text)
    setup = ptype.build(settings, run)
    run = setup.run or run
    K = run.K
    for name, method in methods(K).items():
        if name == "MS rk4":
            method = run.discretisation()  # the config's own integrator and grid
        else:
            from dataclasses import replace

            method = replace(method, grid=run.grid, parallelization=run.parallelization)
        yield (
            "time series (Van der Pol config)",
            name,
            solve_row(setup.problem, method, "simulate", setup.initial_guess, T=run.T),
        )


def learning_rows():
    import ocp
    from problems.learning.datasets import generate
    from problems.learning.ensemble import random_controls
    from problems.learning.l2 import l2_problem
    from problems.learning.networks import NetworkDynamics

    problem = l2_problem(generate("annulus", 60, 2, seed=0), NetworkDynamics("inside", "tanh"), T=5.0, lam=1e-3)[0]
    guess = ocp.InitialGuess(controls=random_controls(20, problem.nu, 0.3, 0))
    for strategy in ("first_order", "simulate"):
        for name, method in methods(20).items():
            yield f"A1 annulus N = 60 ({strategy} start)", name, solve_row(problem, method, strategy, guess)


def stiff_rows():
    from test_stiff import stiff_lq

    import ocp

    problem = stiff_lq((1.0, 0.0))
    rows = {
        "MS rk4 x800": ocp.MultipleShooting(K=50, integrator=ocp.RK4(steps=800)),
        "MS rk4 x36": ocp.MultipleShooting(K=50, integrator=ocp.RK4(steps=36)),
        **{k: v for k, v in methods(50).items() if k != "MS rk4"},
    }
    for name, method in rows.items():
        yield "stiff LQ (K = 50)", name, solve_row(problem, method, "simulate", ocp.InitialGuess())


def main() -> None:
    print("| problem | transcription | build s | solve s | iterations | objective | status | solve / baseline |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for rows in (timeseries_rows(), learning_rows(), stiff_rows()):
        base = None
        for problem, name, r in rows:
            base = r["solve_s"] if base is None else base
            print(
                f"| {problem} | {name} | {r['build_s']:.2f} | {r['solve_s']:.2f} | {r['iterations']} | "
                f"{r['objective']:.8g} | {r['status']} | {r['solve_s'] / base:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
