"""A1.3 at a small size: A1's optimum on [0, T], rescaled to [0, 1], approaches the least-norm
interpolating controls like 1/T once it lies in their basin (docs/science.md, A1.3)."""

import numpy as np
import pytest

import ocp
from ocp.run.solve import parse_config
from problems.learning.l2 import min_norm_interpolant_problem

CONFIG = {
    "problem": "l2",
    "seed": 1,
    "T": 1.0,
    "K": 10,
    "lambda": 1.0e-3,
    "loss": "squared",
    "output": "identity",
    "data": {"source": "annulus", "n_train": 4, "n_test": 4},
    "solver": {"tol": 1.0e-10},
}


def test_rescaled_a1_optima_approach_the_least_norm_interpolant_like_one_over_T():
    run, settings, ptype = parse_config(CONFIG)
    setup = ptype.build(settings, run)
    method = run.discretisation()
    limit_problem, _ = min_norm_interpolant_problem(setup.context.train, settings.dynamics.network(run.K))
    guess = ocp.InitialGuess(controls=np.random.default_rng(0).standard_normal((run.K, limit_problem.nu)))
    limit = ocp.solve(limit_problem, method, ocp.SolverOptions(tol=1e-10), initial_guess=guess)
    assert limit.success and limit.constraint_violation <= 1e-8  # x_1(1) = y_i for every point
    u_star = limit.controls
    # its controls satisfy the maximum principle of the constrained problem (costates from the multipliers)
    assert limit.maximum_principle.residual <= 1e-7
    distances = []
    for T in (1e3, 4e3, 1.6e4):
        at_T = parse_config(CONFIG | {"T": T})[0]
        problem = ptype.build(settings, at_T).problem
        sol = ocp.OCPSolver(problem, at_T.discretisation(), at_T.solver.options()).solve(
            T=T, initial_guess=ocp.InitialGuess(controls=u_star / T)
        )
        assert sol.success
        distances.append(np.sqrt(np.sum((T * sol.controls - u_star) ** 2) / run.K))
    # a penalty of weight T / lambda on the interpolation error: the distance shrinks by 4 per factor 4 in T
    assert distances[0] / distances[1] == pytest.approx(4.0, rel=0.05)
    assert distances[1] / distances[2] == pytest.approx(4.0, rel=0.05)
    assert distances[-1] < 1e-2 * np.sqrt(limit.objective)


def test_least_norm_interpolant_and_a1_limit_in_closed_form_for_linear_dynamics():
    """x' = B u (homogeneous in u, as A1 assumes), B of shape (2, 3): x(1) = x0 + B int u. The least-norm
    control reaching y is constant, u* = B'(BB')^-1 (y - x0); A1 on [0, T] (loss ||x(T) - y||^2,
    lambda int |u|^2) rescaled to [0, 1] is u_1 = (B'B + (lambda / T) I)^-1 B'(y - x0), also constant.
    The toolkit reaches both to 1e-8, and ||u_1 - u*|| shrinks like lambda / T."""
    import casadi as ca

    B = np.array([[1.0, 0.5, -0.3], [0.2, -1.0, 0.7]])
    x0, y, lam = np.array([0.3, -0.4]), np.array([1.0, 2.0]), 0.1
    x, u = ca.SX.sym("x", 2), ca.SX.sym("u", 3)
    r = y - x0
    u_star = B.T @ np.linalg.solve(B @ B.T, r)
    interpolant = ocp.Problem(
        state=x,
        control=u,
        dynamics=B @ u,
        horizon=ocp.Horizon.fixed(1.0),
        initial_state=x0,
        running_costs={"norm": ca.sumsqr(u)},
        final_constraints=(ocp.Constraint.equal(x - ca.DM(y)),),
    )
    method = ocp.MultipleShooting(K=10)
    limit = ocp.solve(interpolant, method, ocp.SolverOptions(tol=1e-12))
    np.testing.assert_allclose(limit.controls, np.tile(u_star, (10, 1)), atol=1e-8)
    distances = []
    for T in (10.0, 100.0, 1000.0):
        a1 = ocp.Problem(
            state=x,
            control=u,
            dynamics=B @ u,
            horizon=ocp.Horizon.fixed(T),
            initial_state=x0,
            running_costs={"regularization": lam * ca.sumsqr(u)},
            terminal_costs={"loss": ca.sumsqr(x - ca.DM(y))},
        )
        rescaled = T * ocp.solve(a1, method, ocp.SolverOptions(tol=1e-12)).controls
        expected = np.linalg.solve(B.T @ B + (lam / T) * np.eye(3), B.T @ r)
        np.testing.assert_allclose(rescaled, np.tile(expected, (10, 1)), atol=1e-8)
        distances.append(np.linalg.norm(rescaled[0] - u_star))
    assert distances[0] / distances[1] == pytest.approx(10.0, rel=0.02)
    assert distances[1] / distances[2] == pytest.approx(10.0, rel=0.02)
