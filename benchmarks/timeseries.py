"""Fitting a vector field by multiple shooting: what the weights shared by every interval cost.

Two measurements, each against a baseline run in the same script:

1. The constraints' Jacobian of the Van der Pol fit with an MLP of two hidden layers of 16 (354 weights,
   4 trajectories x 75 nodes): the block Jacobian IPOPT is given (`ocp/nlp/jacobian.py`) against CasADi's
   own Jacobian of the same graph (serial evaluation; CasADi's Jacobian of the vectorized graph is wrong in
   the bias columns, `tests/test_timeseries.py`). Build and evaluation times, and the largest difference.
2. The shipped config `configs/timeseries_van_der_pol.yaml` (82 weights) solved with each choice of
   `SolverOptions.hessian`: iterations, time, objective and status.

    python benchmarks/timeseries.py
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import casadi as ca
import numpy as np
import yaml

import ocp
from ocp.nlp.jacobian import block_jacobian
from ocp.nlp.transcription import transcribe
from ocp.run.solve import parse_config
from ocp.solvers.ipopt import nlp_parameters

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "timeseries_van_der_pol.yaml"


def setup_of(**changes):
    text = yaml.safe_load(CONFIG.read_text())
    for key, value in changes.items():
        text[key] = {**text[key], **value} if isinstance(value, dict) else value
    run, settings, ptype = parse_config(text)
    setup = ptype.build(settings, run)
    return setup, setup.run


def timed(fn, repeats: int = 5) -> float:
    fn()
    begin = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - begin) / repeats


def jacobians() -> None:
    setup, run = setup_of(model={"widths": [16, 16]})
    nlp = transcribe(setup.problem, run.discretisation())
    begin = time.perf_counter()
    blocks = block_jacobian(nlp)
    block_build = time.perf_counter() - begin
    begin = time.perf_counter()
    own = ca.Function("own", [nlp.w, nlp.p], [nlp.g, ca.jacobian(nlp.g, nlp.w)])
    own_build = time.perf_counter() - begin
    w = np.random.default_rng(0).normal(size=nlp.w.numel()) * 0.3
    p = nlp_parameters(setup.problem, {}, run.T, None)
    difference = float(np.max(np.abs((blocks(w, p)[1] - own(w, p)[1]).full())))
    t_block, t_own = timed(lambda: blocks(w, p)), timed(lambda: own(w, p))
    print(f"Jacobian, {nlp.layout.free_parameters.size} weights, {nlp.g.numel()} constraints:")
    print(f"  block: build {block_build:.2f} s, evaluation {t_block * 1e3:.1f} ms")
    print(f"  CasADi's own: build {own_build:.2f} s, evaluation {t_own * 1e3:.1f} ms (ratio {t_own / t_block:.1f}x)")
    print(f"  largest difference {difference:.1e}")


def hessians() -> None:
    print("configs/timeseries_van_der_pol.yaml, 82 weights, by SolverOptions.hessian (max_iter 500):")
    for choice in ("exact", "gauss_newton", "limited_memory"):
        setup, run = setup_of()
        options = replace(run.solver.options(), hessian=choice, check_optimality=False, first_order_iterations=0)
        begin = time.perf_counter()
        solver = ocp.OCPSolver(setup.problem, run.discretisation(), options)
        built = time.perf_counter() - begin
        solution = solver.solve(T=run.T, initial_guess=setup.initial_guess)
        print(
            f"  {choice:15s} build {built:5.1f} s, solve {solution.solve_time_s:6.1f} s, "
            f"{solution.iterations:4d} iterations, objective {solution.objective:.7f}, {solution.status}"
        )


if __name__ == "__main__":
    jacobians()
    hessians()
