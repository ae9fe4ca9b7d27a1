"""The gradient-flow solver: known optima, monotone descent at small steps, step scaling, records, refusals."""

import casadi as ca
import numpy as np
import pytest
from known_problems import steering

import ocp
from ocp.solvers.gradient_flow import GradientFlow, GradientFlowOptions
from problems.learning.datasets import generate
from problems.learning.ensemble import random_controls
from problems.learning.l1 import l1_problem
from problems.learning.l2 import l2_problem
from problems.learning.networks import NetworkDynamics


def test_gradient_flow_reaches_the_analytic_optimum_of_a_convex_problem():
    flow = GradientFlow(steering(), ocp.MultipleShooting(K=8, integrator=ocp.Euler()), GradientFlowOptions(0.2, 300))
    sol = flow.solve(initial_guess=ocp.InitialGuess(controls=0.0))
    assert sol.success and sol.status == "Iterations_Done" and sol.iterations == 300
    assert sol.objective == pytest.approx(0.5 / 2.5, rel=1e-10)
    assert sol.controls == pytest.approx(1 / 2.5, rel=1e-8)
    assert sol.states[0, -1, 0] == pytest.approx(2.0 / 2.5, rel=1e-8)  # simulated from the trained controls


def test_interval_scaling_makes_the_step_independent_of_the_grid():
    """With step eta / h_k the first step moves every control by eta x the L2 gradient -2 lam u + 2 (1 - x(T))
    (= 2 from u = 0), on any grid; without it the step shrinks with h."""
    problem = steering()
    for K in (4, 16):
        method = ocp.MultipleShooting(K=K, integrator=ocp.Euler())
        scaled = GradientFlow(problem, method, GradientFlowOptions(0.01, 1)).solve()
        plain = GradientFlow(problem, method, GradientFlowOptions(0.01, 1, step_scaling="none")).solve()
        assert scaled.controls == pytest.approx(0.02, rel=1e-12)
        assert plain.controls == pytest.approx(0.02 * 2.0 / K, rel=1e-12)


def test_small_steps_decrease_the_loss_monotonically_on_a_learning_problem():
    data = generate("annulus", 40, seed=2)
    problem, _ = l2_problem(data, NetworkDynamics("inside", "tanh"), T=3.0, lam=1e-3)
    method = ocp.MultipleShooting(K=8)
    start = ocp.InitialGuess(controls=random_controls(8, problem.nu, 0.3, seed=2))
    sol = GradientFlow(problem, method, GradientFlowOptions(0.02, 200, record_every=50)).solve(initial_guess=start)
    objective = np.array(sol.training["objective"])
    assert objective.size == 201 and np.all(np.diff(objective) <= 0)
    assert objective[-1] < 0.8 * objective[0]
    assert sol.training["recorded_iterations"] == [0, 50, 100, 150, 200]
    assert sol.snapshots.shape == (5, 8, problem.nu)
    np.testing.assert_array_equal(sol.snapshots[-1], sol.controls)
    # The recorded cost terms add up to the objective at each record.
    for it, costs in zip(sol.training["recorded_iterations"], sol.training["recorded_costs"], strict=True):
        assert sum(costs.values()) == pytest.approx(objective[it], rel=1e-12)


def test_ipopt_from_the_same_start_ends_at_or_below_the_gradient_flow_endpoint():
    data = generate("xor", 30, seed=1)
    problem, _ = l2_problem(data, NetworkDynamics("inside", "tanh"), T=3.0, lam=1e-3)
    method = ocp.MultipleShooting(K=6)
    start = ocp.InitialGuess(controls=random_controls(6, problem.nu, 0.3, seed=1))
    trained = GradientFlow(problem, method, GradientFlowOptions(0.05, 300)).solve(initial_guess=start)
    optimum = ocp.OCPSolver(problem, method).solve(initial_guess=start)
    assert optimum.success
    assert optimum.objective <= trained.objective
    from_endpoint = ocp.OCPSolver(problem, method).solve(initial_guess=trained, first_order_iterations=0)
    assert from_endpoint.success and from_endpoint.objective <= trained.objective


def test_l1_costs_enter_as_absolute_values_and_match_ipopt_at_its_point():
    """Gradient flow writes an L1 cost as sum |e|; at IPOPT's optimum (slack form) both give the same cost."""
    data = generate("annulus", 16, seed=2)
    problem, _ = l1_problem(data, NetworkDynamics("inside", "tanh"), T=2.0, lam=1e-2)
    method = ocp.MultipleShooting(K=6)
    optimum = ocp.OCPSolver(problem, method, ocp.SolverOptions(tol=1e-10)).solve(
        initial_guess=ocp.InitialGuess(controls=0.1)
    )
    at_optimum = GradientFlow(problem, method, GradientFlowOptions(1e-3, 0)).solve(initial_guess=optimum)
    assert at_optimum.objective == pytest.approx(optimum.objective, rel=1e-6)
    trained = GradientFlow(problem, method, GradientFlowOptions(1e-2, 100)).solve(initial_guess=optimum)
    assert trained.objective >= optimum.objective * (1 - 1e-6)  # descent from a minimum finds nothing lower


def test_divergence_keeps_the_last_finite_iterate_and_says_so():
    x, u = ca.SX.sym("x"), ca.SX.sym("u")
    blowup = ocp.Problem(  # x' = exp(u): the cost overflows for large u
        state=x,
        control=u,
        dynamics=ca.exp(u),
        horizon=ocp.Horizon.fixed(1.0),
        initial_state=[0.0],
        terminal_costs={"miss": -(x**2)},
    )
    sol = GradientFlow(blowup, ocp.MultipleShooting(K=2, integrator=ocp.Euler()), GradientFlowOptions(10.0, 50)).solve()
    assert sol.status == "Diverged" and not sol.success
    assert np.isfinite(sol.objective) and sol.iterations < 50
    assert "lower the learning rate" in sol.message


def test_clipping_caps_the_step_norm():
    problem = steering()
    method = ocp.MultipleShooting(K=4, integrator=ocp.Euler())
    sol = GradientFlow(problem, method, GradientFlowOptions(1.0, 1, clip=0.1)).solve()
    assert np.linalg.norm(sol.controls) == pytest.approx(0.1, rel=1e-12)


def test_problems_gradient_descent_cannot_keep_are_refused_with_the_reason():
    x, u = ca.SX.sym("x"), ca.SX.sym("u")
    constrained = ocp.Problem(
        state=x,
        control=u,
        dynamics=u,
        horizon=ocp.Horizon.fixed(1.0),
        initial_state=[0.0],
        terminal_costs={"miss": (x - 1) ** 2},
        final_constraints=(ocp.Constraint(x, lb=0.5, ub=0.5),),
    )
    with pytest.raises(ocp.ProblemError, match="gradient_flow cannot solve this problem: the problem has path"):
        GradientFlow(constrained)
    with pytest.raises(ocp.ProblemError, match="learning_rate must be > 0"):
        GradientFlowOptions(learning_rate=0.0)
    with pytest.raises(ocp.ProblemError, match="step_scaling must be one of"):
        GradientFlowOptions(step_scaling="layer")


def test_a_trained_solution_round_trips_through_its_file(tmp_path):
    sol = GradientFlow(steering(), ocp.MultipleShooting(K=4), GradientFlowOptions(0.1, 20, record_every=5)).solve()
    loaded = ocp.Solution.load(sol.save(tmp_path / "trained.npz"))
    np.testing.assert_array_equal(loaded.snapshots, sol.snapshots)
    assert loaded.training["objective"] == sol.training["objective"]
    assert loaded.status == "Iterations_Done"
