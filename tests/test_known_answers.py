"""Problems with analytic or independently computed optima, through every integrator."""

import casadi as ca
import numpy as np
import pytest
from lqr_reference import continuous_cost, euler_cost, sampled_data_cost

import ocp

A = np.array([[0.0, 1.0], [-2.0, -0.5]])
B = np.array([[0.0], [1.0]])
Q, R, S = np.diag([1.0, 0.5]), np.array([[0.2]]), np.diag([2.0, 1.0])
T, X0 = 2.0, np.array([1.0, -0.5])


def lqr_problem() -> ocp.Problem:
    x, u = ca.SX.sym("x", 2), ca.SX.sym("u")
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=A @ x + B @ u,
        horizon=ocp.Horizon.fixed(T),
        initial_state=X0,
        running_costs={"state": ca.bilin(Q, x, x), "effort": R[0, 0] * u**2},
        terminal_costs={"final": ca.bilin(S, x, x)},
    )


# (integrator, K, reference optimum, relative tolerance). The references are scipy
# computations that share no code with `ocp`:
# - euler: the discrete Riccati recursion of the Euler (ResNet) transcription, exact;
# - midpoint / rk4 with sub-steps: the exact sampled-data (piecewise-constant u) optimum;
# - rk4 on a fine grid: the continuous-time Riccati solution.
LQR_CASES = [
    (ocp.Euler(1), 20, lambda: euler_cost(A, B, Q, R, S, T, 20, X0), 1e-9),
    (ocp.Midpoint(64), 20, lambda: sampled_data_cost(A, B, Q, R, S, T, 20, X0), 1e-6),
    (ocp.RK4(2), 20, lambda: sampled_data_cost(A, B, Q, R, S, T, 20, X0), 1e-6),
    (ocp.RK4(1), 800, lambda: continuous_cost(A, B, Q, R, S, T, X0), 1e-6),
]


@pytest.mark.parametrize(("integrator", "K", "reference", "tol"), LQR_CASES, ids=[f"{c[0]}-K{c[1]}" for c in LQR_CASES])
def test_lqr_matches_riccati(integrator, K, reference, tol):
    sol = ocp.solve(lqr_problem(), ocp.MultipleShooting(K=K, integrator=integrator))
    expected = reference()
    assert sol.success, sol.message
    assert abs(sol.objective - expected) / expected <= tol
    assert sol.iterations <= 3  # a convex QP: IPOPT needs one or two iterations
    assert sum(sol.costs.values()) == pytest.approx(sol.objective, rel=1e-12)


@pytest.mark.parametrize(
    ("integrator", "tol"), [(ocp.Euler(8), 2e-3), (ocp.Midpoint(2), 1e-6), (ocp.RK4(1), 1e-5)], ids=str
)
def test_lqr_converges_to_continuous_optimum_for_every_integrator(integrator, tol):
    # Two errors add up here: the integrator's and that of piecewise-constant controls
    # (O(h^2) in the cost). For the midpoint rule they partly cancel, so only the
    # finest grid and the coarse-to-fine decrease are asserted.
    exact = continuous_cost(A, B, Q, R, S, T, X0)
    errors = [
        abs(ocp.solve(lqr_problem(), ocp.MultipleShooting(K=K, integrator=integrator)).objective - exact) / exact
        for K in (50, 200)
    ]
    assert errors[1] < errors[0]
    assert errors[1] < tol


def bryson_denham(limit: float) -> ocp.Problem:
    """min 1/2 int_0^1 u^2, x'' = u, x(0)=0, x'(0)=1, x(1)=0, x'(1)=-1, x <= l. J* = 4/(9l) for l <= 1/6."""
    x, u = ca.SX.sym("x", 2), ca.SX.sym("u")
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=ca.vertcat(x[1], u),
        horizon=ocp.Horizon.fixed(1.0),
        initial_state=[0.0, 1.0],
        final_constraints=(ocp.Constraint.equal(x, [0.0, -1.0]),),
        state_bounds=ocp.Bounds([-np.inf, -np.inf], [limit, np.inf]),
        running_costs={"effort": 0.5 * u**2},
    )


@pytest.mark.parametrize("integrator", [ocp.Euler(4), ocp.Midpoint(1), ocp.RK4(1)], ids=str)
def test_bryson_denham_state_constraint(integrator):
    limit = 1 / 9
    exact = 4 / (9 * limit)
    sol = ocp.solve(bryson_denham(limit), ocp.MultipleShooting(K=200, integrator=integrator))
    assert sol.success, sol.message
    assert abs(sol.objective - exact) / exact < 1e-4
    assert sol.states[0, :, 0].max() <= limit + 1e-7  # the constraint holds on the grid
    assert sol.iterations < 50


def minimum_time_problem() -> ocp.Problem:
    """From (1, 0) to rest with |u| <= 1 in free time: bang-bang with one switch, T* = 2."""
    x, u = ca.SX.sym("x", 2), ca.SX.sym("u")
    horizon = ocp.Horizon.bounded(0.1, 10.0, guess=1.0)
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=ca.vertcat(x[1], u),
        horizon=horizon,
        initial_state=[1.0, 0.0],
        final_constraints=(ocp.Constraint.equal(x, [0.0, 0.0]),),
        control_bounds=ocp.Bounds(-1.0, 1.0),
        terminal_costs={"time": horizon.symbol},
    )


@pytest.mark.parametrize("integrator", [ocp.Euler(1), ocp.Midpoint(1), ocp.RK4(1)], ids=str)
def test_minimum_time_double_integrator(integrator):
    """From (1, 0) to rest with |u| <= 1: bang-bang with one switch, T* = 2 (exact on an even grid)."""
    sol = ocp.solve(minimum_time_problem(), ocp.MultipleShooting(K=20, integrator=integrator))
    assert sol.success, sol.message
    assert sol.T == pytest.approx(2.0, abs=1e-6)
    assert sol.t[-1] == pytest.approx(sol.T)
    np.testing.assert_allclose(sol.controls[:10, 0], -1.0, atol=1e-5)
    np.testing.assert_allclose(sol.controls[10:, 0], 1.0, atol=1e-5)
    assert sol.constraint_violation < 1e-8


def test_user_given_grid():
    """A non-uniform grid (fine near t = 0 where the LQR state moves fastest) converges to the Riccati optimum."""
    K = 200
    grid = np.linspace(0.0, 1.0, K + 1) ** 1.5
    sol = ocp.solve(lqr_problem(), ocp.MultipleShooting(K=K, integrator=ocp.RK4(1), grid=grid))
    exact = continuous_cost(A, B, Q, R, S, T, X0)
    np.testing.assert_allclose(sol.t, T * grid)
    assert abs(sol.objective - exact) / exact < 2e-5
    with pytest.raises(ocp.ProblemError, match="grid must hold K \\+ 1 = 201 increasing values"):
        ocp.MultipleShooting(K=K, grid=grid[::-1])
