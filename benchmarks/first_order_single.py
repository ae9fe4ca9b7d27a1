"""Does the first-order phase pay on a single-trajectory OCP? Time with and without it, in one process.

    OMP_NUM_THREADS=1 python benchmarks/first_order_single.py [--repeats 3]

The phase (200 L-BFGS-B steps on the condensed objective, `ocp/solvers/first_order.py`)
was made for ensembles, where it moves IPOPT's start out of the flat region
around small random weights. On a classic single-trajectory OCP the user's
guess is usually good already. Two problems with box-bounded controls (where
the phase applies), each from the user's guess and from the default zero
guess, K = 200 intervals, RK4:

- catalyst mixing (COPS problem 14; Gunn and Thomas): x1' = u (10 x2 - x1),
  x2' = u (x1 - 10 x2) - (1 - u) x2, x(0) = (1, 0), 0 <= u <= 1, minimise
  x1(1) + x2(1) - 1 (optimum about -0.04806); user's guess u = 0.5;
- a damped oscillator steered to rest: x1' = x2, x2' = -x1 - 0.1 x2 + u,
  x(0) = (2, 0), |u| <= 1, minimise int (x1^2 + x2^2 + 0.1 u^2) dt on
  [0, 10]; user's guess u = -0.5.

Prints the wall time of each solve (best of ``--repeats``), the objectives and
the ratio with / without the phase.
"""

from __future__ import annotations

import argparse
import time

import casadi as ca
import numpy as np

import ocp

K = 200


def catalyst() -> tuple[ocp.Problem, float]:
    x, u = ca.SX.sym("x", 2), ca.SX.sym("u")
    problem = ocp.Problem(
        state=x,
        control=u,
        dynamics=ca.vertcat(u * (10 * x[1] - x[0]), u * (x[0] - 10 * x[1]) - (1 - u) * x[1]),
        horizon=ocp.Horizon.fixed(1.0),
        initial_state=[1.0, 0.0],
        terminal_costs={"yield": x[0] + x[1] - 1.0},
        control_bounds=ocp.Bounds(0.0, 1.0),
    )
    return problem, 0.5


def oscillator() -> tuple[ocp.Problem, float]:
    x, u = ca.SX.sym("x", 2), ca.SX.sym("u")
    problem = ocp.Problem(
        state=x,
        control=u,
        dynamics=ca.vertcat(x[1], -x[0] - 0.1 * x[1] + u),
        horizon=ocp.Horizon.fixed(10.0),
        initial_state=[2.0, 0.0],
        running_costs={"energy": x[0] ** 2 + x[1] ** 2 + 0.1 * u**2},
        control_bounds=ocp.Bounds(-1.0, 1.0),
    )
    return problem, -0.5


def timed(solver: ocp.OCPSolver, guess, phase: int, repeats: int) -> tuple[float, ocp.Solution]:
    best, solution = np.inf, None
    for _ in range(repeats):
        begin = time.perf_counter()
        solution = solver.solve(initial_guess=guess, first_order_iterations=phase)
        best = min(best, time.perf_counter() - begin)
    return best, solution


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    method = ocp.MultipleShooting(K=K, integrator=ocp.RK4(1))
    options = ocp.SolverOptions(check_optimality=False)
    print("| problem | guess | with phase s | without s | ratio | objective with | objective without |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, make in (("catalyst mixing", catalyst), ("damped oscillator", oscillator)):
        problem, user_u = make()
        solver = ocp.OCPSolver(problem, method, options)
        for label, guess in (
            (f"user's, u = {user_u:g}", ocp.InitialGuess(controls=np.full((K, 1), user_u))),
            ("none (zeros)", None),
        ):
            with_s, with_sol = timed(solver, guess, 200, args.repeats)
            without_s, without_sol = timed(solver, guess, 0, args.repeats)
            print(
                f"| {name} | {label} | {with_s:.2f} | {without_s:.2f} | {with_s / without_s:.1f} | "
                f"{with_sol.objective:.8g} ({with_sol.status}) | {without_sol.objective:.8g} ({without_sol.status}) |",
                flush=True,
            )


if __name__ == "__main__":
    main()
