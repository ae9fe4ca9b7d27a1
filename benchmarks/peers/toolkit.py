"""This project on the reference problem, with named option sets (the levers being measured)."""

from __future__ import annotations

import time

import numpy as np

import ocp
from problems.learning.datasets import Dataset
from problems.learning.l2 import l2_problem
from problems.learning.networks import NetworkDynamics

# Option sets compared in the benchmarks; "default" is what a user gets.
OPTION_SETS: dict[str, ocp.SolverOptions] = {
    "default": ocp.SolverOptions(),
    "plain": ocp.SolverOptions(first_order_iterations=0),  # IPOPT from the given start, as every peer does
    "expanded": ocp.SolverOptions(expand=True),
    "metis": ocp.SolverOptions(ipopt={"mumps_pivot_order": 5}),  # METIS ordering of the KKT matrix
    "noscale": ocp.SolverOptions(ipopt={"mumps_scaling": 0}),  # MUMPS without its own row/column scaling
    "noscale-expanded": ocp.SolverOptions(expand=True, ipopt={"mumps_scaling": 0}),
    "mapped": ocp.SolverOptions(),  # the batch through Function.map instead of vector operations
    "mapped-plain": ocp.SolverOptions(first_order_iterations=0),
}
# Transcription settings of the option sets that change them (the rest use MultipleShooting's defaults).
MAPPED = {"parallelization": "serial"}
METHOD_SETTINGS: dict[str, dict] = {"mapped": MAPPED, "mapped-plain": MAPPED}

EVALUATION_TIMERS = ("t_wall_nlp_f", "t_wall_nlp_g", "t_wall_nlp_grad_f", "t_wall_nlp_jac_g", "t_wall_nlp_hess_l")


def solve(X: np.ndarray, y: np.ndarray, U0: np.ndarray, *, T: float, lam: float, option_set: str = "default") -> dict:
    """Build and solve from controls U0 (states by forward simulation); timings split as IPOPT reports them."""
    start = time.perf_counter()
    problem, _ = l2_problem(Dataset(X, y), NetworkDynamics("inside", "tanh"), T=T, lam=lam)
    method = ocp.MultipleShooting(K=U0.shape[0], **METHOD_SETTINGS.get(option_set, {}))
    solver = ocp.OCPSolver(problem, method, OPTION_SETS[option_set])
    build = time.perf_counter() - start
    sol = solver.solve(initial_guess=ocp.InitialGuess(controls=U0))
    evaluations = sum(sol.timings.get(k, 0.0) for k in EVALUATION_TIMERS)
    return {
        "build_s": build,
        "solve_s": sol.solve_time_s,
        "iterations": sol.iterations,
        "status": sol.status,
        "controls": sol.controls,
        "evaluation_s": evaluations,
        "first_order_s": sol.first_order.get("time_s", 0.0),
        "ipopt_s": sol.solve_time_s - sol.first_order.get("time_s", 0.0),  # IPOPT and the start's simulation
    }
