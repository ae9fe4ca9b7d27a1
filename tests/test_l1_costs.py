"""L1 costs of the ocp layer: exact (slack) reformulation, analytic optima, exact zeros, bad input."""

import casadi as ca
import numpy as np
import pytest

import ocp

TARGET = np.array([2.0, 0.5, -3.0])


def soft_threshold_problem(lam: float, T: float = 2.0) -> ocp.Problem:
    """min int_0^T lam ||u||_1 + 1/2 ||u - a||^2 dt, x' = u: u* = sign(a) max(|a| - lam, 0) on every interval."""
    x, u = ca.SX.sym("x", 3), ca.SX.sym("u", 3)
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=u,
        horizon=ocp.Horizon.fixed(T),
        initial_state=np.zeros(3),
        running_costs={"fit": 0.5 * ca.sumsqr(u - TARGET)},
        l1_costs={"sparsity": lam * u},
    )


def test_l1_cost_gives_the_soft_threshold_with_exact_zeros():
    T, lam = 2.0, 1.0
    sol = ocp.solve(soft_threshold_problem(lam, T), ocp.MultipleShooting(K=6), ocp.SolverOptions(tol=1e-10))
    assert sol.success, sol.message
    expected = np.sign(TARGET) * np.maximum(np.abs(TARGET) - lam, 0.0)  # (1, 0, -2)
    np.testing.assert_allclose(sol.controls, np.tile(expected, (6, 1)), atol=1e-7)
    assert np.max(np.abs(sol.controls[:, 1])) < 1e-8  # an exact zero, not a small number
    # Objective: T (lam |u*|_1 + 1/2 |u* - a|^2) = 2 (3 + 1.125).
    assert sol.objective == pytest.approx(T * (lam * 3.0 + 0.5 * (1.0 + 0.25 + 1.0)), rel=1e-8)
    assert sol.costs["sparsity"] == pytest.approx(T * lam * 3.0, rel=1e-8)
    assert "L1 costs" in sol.first_order["skipped"]


def test_without_the_l1_weight_there_are_no_zeros():
    sol = ocp.solve(soft_threshold_problem(0.0), ocp.MultipleShooting(K=6))
    assert sol.success
    np.testing.assert_allclose(sol.controls, np.tile(TARGET, (6, 1)), atol=1e-7)


def test_weight_as_a_parameter_and_a_bound_on_the_norm():
    """Weight lam (an NLP parameter, re-solved without rebuilding) and ||u(t)||_1 <= M.

    With weight 0 and M = 2, u* is the projection of a onto the L1 ball of radius 2: (0.5, 0, -1.5)
    (soft threshold at 1.5); with weight 1 and M = 2 the unbounded optimum (1, 0, -2) has norm 3 > 2,
    and the threshold moves to 1.5 again, now with the weight's cost added.
    """
    x, u, lam = ca.SX.sym("x", 3), ca.SX.sym("u", 3), ca.SX.sym("lam")
    problem = ocp.Problem(
        state=x,
        control=u,
        dynamics=u,
        horizon=ocp.Horizon.fixed(1.0),
        initial_state=np.zeros(3),
        parameters=(ocp.Parameter(lam, 0.0),),
        running_costs={"fit": 0.5 * ca.sumsqr(u - TARGET)},
        l1_costs={"sparsity": ocp.L1Cost(u, weight=lam, bound=2.0)},
    )
    solver = ocp.OCPSolver(problem, ocp.MultipleShooting(K=4), ocp.SolverOptions(tol=1e-10))
    projected = np.array([0.5, 0.0, -1.5])
    for weight in (0.0, 1.0):
        sol = solver.solve(parameters={"lam": weight})
        assert sol.success, sol.message
        np.testing.assert_allclose(sol.controls, np.tile(projected, (4, 1)), atol=1e-7)
        assert sol.costs["sparsity"] == pytest.approx(weight * 2.0, abs=1e-7)
        assert sol.costs["fit"] == pytest.approx(0.5 * (1.5**2 + 0.5**2 + 1.5**2), rel=1e-7)  # bound met to ~1e-8


def minimum_fuel_problem() -> ocp.Problem:
    """x' = u, x(0) = 0, x(T) = 1, |u| <= 1: min int |u| dt = 1 (a smoothed |u| would not give 1 exactly)."""
    x, u = ca.SX.sym("x"), ca.SX.sym("u")
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=u,
        horizon=ocp.Horizon.fixed(3.0),
        initial_state=[0.0],
        final_constraints=(ocp.Constraint.equal(x, 1.0),),
        control_bounds=ocp.Bounds(-1.0, 1.0),
        l1_costs={"fuel": u},
    )


def test_minimum_fuel_transfer_costs_exactly_the_distance():
    """The minimum-fuel transfer costs exactly the distance, 1."""
    problem = minimum_fuel_problem()
    sol = ocp.solve(problem, ocp.MultipleShooting(K=10, integrator=ocp.Euler()), ocp.SolverOptions(tol=1e-10))
    assert sol.success, sol.message
    assert sol.objective == pytest.approx(1.0, rel=1e-7)  # IPOPT's constraint tolerance allows ~3e-8 less
    assert np.all(sol.controls >= -1e-8)  # no fuel spent going backwards
    assert sol.states[0, -1, 0] == pytest.approx(1.0, abs=1e-9)


def test_l1_costs_must_not_depend_on_state_or_time_and_names_must_be_unique():
    x, u, t = ca.SX.sym("x"), ca.SX.sym("u"), ca.SX.sym("t")
    base = {"state": x, "control": u, "dynamics": u, "time": t, "initial_state": [0.0]}
    with pytest.raises(ocp.ProblemError, match=r"l1_costs\['bad'\] may depend on controls and parameters only"):
        ocp.Problem(**base, l1_costs={"bad": x * u})
    with pytest.raises(ocp.ProblemError, match=r"l1_costs\['timed'\] may depend on controls and parameters only"):
        ocp.Problem(**base, l1_costs={"timed": t * u})
    with pytest.raises(ocp.ProblemError, match="cost names must be unique.*'u'"):
        ocp.Problem(**base, running_costs={"u": u**2}, l1_costs={"u": u})
