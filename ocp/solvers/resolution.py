"""Does direct collocation's polynomial follow the ODE? Its node states against a fine re-simulation.

Collocation's points are A-stable, so no step bound applies; what can go wrong is resolution. Where an
interval is long against the dynamics' time scale (h x the spectral radius of df/dx well above 1), the
polynomial of a few points cannot follow the solution, and IPOPT can exploit the discretisation error
as it exploits an unstable explicit step. Measured: on the L1 learning config at T = 10 with one
interval per unit of time, 3 Radau points, started from the multiple-shooting optimum, ended 23 % away
from it (benchmarks/README.md, `collocation_configs.py`).

The check integrates the solution's controls from its initial states with RK4 at enough steps per
interval that each has h rho <= REFERENCE_H_RHO (error per step of order 1e-6 relative), and reports
the largest difference from the collocation node states, relative to the largest state (at least 1).
It assumes the dynamics do not amplify small differences much over [0, T]: on a chaotic or unstable
system the re-simulation departs from any discretisation. Above RESOLUTION_TOLERANCE the toolkit
warns, unless the solve stopped before the collocation equations held (UNCONVERGED_VIOLATION): then
the difference measures their violation, and the report says so instead of advising on the grid.
Where RK4 would need more than MAX_REFERENCE_STEPS per interval (a stiff system), the re-simulation is
left out and the report says so.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ocp.nlp.functions import step_function
from ocp.nlp.simulation import simulate
from ocp.problem.integrators import RK4
from ocp.problem.method import DirectCollocation, MultipleShooting
from ocp.problem.problem import Problem
from ocp.solvers.records import StabilityReport
from ocp.solvers.solution import Solution

REFERENCE_H_RHO = 0.1  # h rho of one RK4 step of the reference
MAX_REFERENCE_STEPS = 2000  # per interval; stiffer systems get no explicit reference
STEPS_PER_CALL = 20  # fewer Python calls on a stiff system, a small graph on a mild one
RESOLUTION_TOLERANCE = 1e-3  # the largest node-state difference, relative, that counts as resolved
# a point whose constraints are violated by more than this (relative to the states) is not a collocation
# solution yet: its difference from the re-simulation measures the violation, and is not judged
UNCONVERGED_VIOLATION = 1e-6


def resolution_check(
    problem: Problem, method: DirectCollocation, solution: Solution, data, steps_built: dict | None = None
) -> StabilityReport:
    """``solution.stability`` (h rho at the guess and the solution) completed by the re-simulation.
    ``steps_built`` keeps the reference's step functions (by RK4 steps per call) between solves of one build:
    building one cost 6-8 ms, as much as a small solve."""
    report = solution.stability
    if not math.isfinite(report.solution):
        return replace(report, stable=False, advice=f"{report.integrator}: df/dx is not finite at the solution")
    steps = max(1, math.ceil(report.solution * method.steps / REFERENCE_H_RHO))  # h rho is per element
    if steps > MAX_REFERENCE_STEPS:
        why = f"no explicit reference: RK4 would need {steps} steps per interval (h rho = {report.solution:.3g})"
        return replace(report, reference=why)
    per_call = min(steps, STEPS_PER_CALL)  # RK4 steps inside one call of the step function
    calls = math.ceil(steps / per_call)
    steps = per_call * calls
    fine = MultipleShooting(method.K, RK4(per_call), method.grid, method.parallelization)
    steps_built = {} if steps_built is None else steps_built
    if per_call not in steps_built:
        steps_built[per_call] = step_function(problem, fine, [])
    reference = simulate(
        problem,
        fine,
        solution.controls,
        step=steps_built[per_call],
        initial_states=solution.states[:, 0],
        T=solution.T,
        parameters={**solution.parameters, **solution.free_parameters},
        data=data,
        substeps=calls,
    )
    scale = max(1.0, float(np.max(np.abs(solution.states))))
    with np.errstate(invalid="ignore"):
        difference = float(np.max(np.abs(reference - solution.states))) / scale
    label = f"rk4 x {steps}"
    if not solution.constraint_violation <= UNCONVERGED_VIOLATION * scale:  # an early stop, e.g. at max_iter
        advice = (
            f"the collocation equations do not hold at this point (constraint violation "
            f"{solution.constraint_violation:.3g}; {solution.status}): its difference from a re-simulation "
            f"({difference:.3g}) measures that, not the resolution, which is judged at a converged solution"
        )
        return replace(report, stable=None, advice=advice, resimulated_difference=difference, reference=label)
    resolved = bool(difference <= RESOLUTION_TOLERANCE)  # False for NaN
    advice = "" if resolved else resolution_advice(method, difference, report.solution, steps)
    return replace(report, stable=resolved, advice=advice, resimulated_difference=difference, reference=label)


def resolution_advice(method: DirectCollocation, difference: float, h_rho: float, steps: int) -> str:
    return (
        f"direct collocation with {method.steps} element(s) of {method.degree} {method.scheme} points per "
        f"interval does not resolve the dynamics: its node states differ from an RK4 re-simulation of the same "
        f"controls ({steps} steps per interval) by {difference:.3g} relative to the states (tolerance "
        f"{RESOLUTION_TOLERANCE:g}), where an element's length x the spectral radius of df/dx reaches "
        f"{h_rho:.3g}; the optimum may exploit the discretisation error. Use more elements per interval "
        "(steps), more points (degree) or a finer grid (K; for a learning problem, a deeper network)"
    )
