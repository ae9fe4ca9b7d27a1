"""Costates from IPOPT's multipliers and the maximum principle (`ocp/solvers/maximum_principle.py`),
against answers computed without them: the discrete Riccati recursion, the gradient of the terminal
loss, the gradient of the condensed objective, and the L1 problem's switching conditions."""

import casadi as ca
import numpy as np
import pytest
from single_solve import SINGLE_SOLVE
from test_known_answers import A, B, Q, R, S, T, lqr_problem

import ocp
from ocp.run.solve import parse_config, solve_run


def test_costates_of_the_euler_lqr_are_the_gradient_of_the_riccati_value_function():
    """The Euler transcription is the discrete LQR x+ = (I + hA) x + hB u with stage cost h(x'Qx + u'Ru):
    its value function is x'P_k x with P_k from the Riccati recursion, so the costate is p_k = 2 P_k x_k
    at every node, node 0 included (from the initial state's bound multiplier)."""
    K = 20
    sol = ocp.solve(lqr_problem(), ocp.MultipleShooting(K=K, integrator=ocp.Euler(1)))
    h = T / K
    Ad, Bd, Qd, Rd = np.eye(2) + h * A, h * B, h * Q, h * R
    P = [S]
    for _ in range(K):  # backwards from P_K = S
        G, H = Rd + Bd.T @ P[0] @ Bd, Bd.T @ P[0] @ Ad
        P.insert(0, Qd + Ad.T @ P[0] @ Ad - H.T @ np.linalg.solve(G, H))
    expected = np.array([2 * P[k] @ sol.states[0, k] for k in range(K + 1)])
    assert sol.costates.shape == (1, K + 1, 2)
    np.testing.assert_allclose(sol.costates[0], expected, rtol=1e-8, atol=1e-10)
    report = sol.maximum_principle
    assert report.residual <= 1e-9 * report.scale  # dH/du = 2 h R u_k + h B' p_{k+1} = 0 exactly (a QP)
    assert report.difference <= 1e-9 * report.scale  # and the condensed gradient agrees


def neural_ensemble(N: int = 6):
    """A small neural ODE: x_i' = tanh(w x_i + b), shared (w, b), terminal loss mean (x_i(T) - y_i)^2 and
    lambda ||u||^2 running; the data are not interpolable by one map, so the loss stays positive."""
    x, u, y = ca.SX.sym("x"), ca.SX.sym("u", 2), ca.SX.sym("y")
    rng = np.random.default_rng(3)
    x0, targets = rng.uniform(-1, 1, N), rng.uniform(-1, 1, N)
    problem = ocp.Problem(
        state=x,
        control=u,
        dynamics=ca.tanh(u[0] * x + u[1]),
        horizon=ocp.Horizon.fixed(2.0),
        initial_state=x0[:, None],
        ensemble_data=ocp.EnsembleData(y, targets[:, None]),
        aggregate="mean",
        running_costs={"regularization": 1e-2 * ca.sumsqr(u)},
        terminal_costs={"loss": (x - y) ** 2},
    )
    return problem, targets


def test_costates_of_a_neural_ensemble_solve_the_adjoint_and_the_controls_the_maximum_principle():
    """At node K the costate is the terminal loss's gradient 2 (x_i(T) - y_i) / N; at node 0 it is the
    condensed objective's gradient in the initial state (a forward simulation differentiated by CasADi, no
    multiplier involved); in between dH/du vanishes on every interval and equals the condensed gradient."""
    problem, targets = neural_ensemble()
    method = ocp.MultipleShooting(K=16)
    solver = ocp.OCPSolver(problem, method)
    sol = solver.solve(initial_guess=ocp.InitialGuess(controls=np.tile([0.5, 0.1], (16, 1))))
    assert sol.success
    N = problem.N
    np.testing.assert_allclose(sol.costates[:, -1, 0], 2 * (sol.states[:, -1, 0] - targets) / N, rtol=1e-7)
    phase = solver._condensed_phase()
    p = np.concatenate([[2.0], targets])  # the NLP parameters: T, then the members' data
    dJ_dx0 = phase.gradient_at(sol.primal, p)[phase.condensed.layout.states[0][:, 0]]
    np.testing.assert_allclose(sol.costates[:, 0, 0], dJ_dx0, rtol=1e-6, atol=1e-10)
    report = sol.maximum_principle  # stationary to IPOPT's tolerance (1e-8, on the dual infeasibility)
    assert report.scale > 1e-4 and report.residual <= 1e-7
    assert report.difference <= 1e-7 and report.comparison_skipped == ""
    # the certificate of a solution made elsewhere: the same numbers from its saved multipliers
    again = solver.certify(sol)
    assert again.residual == pytest.approx(report.residual, rel=1e-9, abs=1e-15)


def test_costates_survive_save_and_load(tmp_path):
    problem, _ = neural_ensemble(3)
    sol = ocp.solve(problem, ocp.MultipleShooting(K=8))
    loaded = ocp.Solution.load(sol.save(tmp_path / "s.npz"))
    np.testing.assert_array_equal(loaded.costates, sol.costates)
    assert loaded.maximum_principle.residual == sol.maximum_principle.residual


def test_the_l1_switching_function_stays_in_the_band_where_the_control_is_zero_and_marks_T_star(tmp_path):
    """B: where u_kj = 0 the switching function satisfies |sigma_kj| <= lambda; where u_kj != 0 it equals
    -lambda sign(u_kj) (u minimises lambda |u| + sigma u only there); and after the last interval where it
    reaches the band, every control is zero: the maximum principle's T*."""
    config = {"problem": "l1", "T": 4.0, "K": 16, "lambda": 0.01, "seed": 0}
    config |= {"data": {"source": "annulus", "n_train": 40, "n_test": 10}}
    config |= SINGLE_SOLVE
    run, settings, ptype = parse_config(config)
    setup = ptype.build(settings, run)
    sol = solve_run(run, setup)
    assert sol.success
    sigma, u, lam = np.asarray(sol.maximum_principle.switching), sol.controls, 0.01
    # IPOPT's zeros are 1e-17 ... a few 1e-6 (an interior point approaches them); acting entries >= 1e-4
    zero, acting = np.abs(u) <= 1e-5, np.abs(u) >= 1e-4
    assert zero.sum() > 10 and acting.sum() > 10 and (zero | acting).mean() > 0.9
    assert np.max(np.abs(sigma[zero])) <= lam * (1 + 1e-6)
    np.testing.assert_allclose(sigma[acting], -lam * np.sign(u[acting]), rtol=1e-3)
    fields = ptype.report(setup, run, sol, tmp_path)
    T_band = fields["switching_stopping_time"]
    after = sol.t[:-1] >= T_band - 1e-12  # the intervals after the switching function's T*
    assert after.any() and (~after).any()
    assert np.all(np.max(np.abs(sigma[after]), axis=1) < lam * (1 - 1e-3))  # strictly inside the band
    assert np.all(np.max(np.abs(u[after]), axis=1) <= 1e-5)  # and the controls are IPOPT's zeros there
    assert np.max(np.abs(u[~after][-1])) >= 1e-4  # the last interval before it acts
    # the controls' own T* (norm <= stop_tolerance = 1e-6) is no earlier: it can mistake IPOPT's residue
    # (1e-6 ... 6e-6 on this instance) for acting controls, which the switching function tells apart
    assert fields["stopping_time"] >= T_band
    assert (tmp_path / "switching_function.png").is_file()


def test_minimum_fuel_switching_function_is_affine_and_bang_off_bang():
    """Minimum fuel for the double integrator (x' = v, v' = u, |u| <= 1, from rest at 0 to rest at 1 in T = 3,
    cost int |u| dt): the Hamiltonian |u| + p_x v + p_v u makes the switching function sigma = p_v, affine
    in t (p_x is constant), and the control +1 where sigma <= -1, 0 where |sigma| <= 1, -1 where
    sigma >= 1: bang-off-bang, t1 = (3 - sqrt(5)) / 2, fuel 2 t1 = 0.7639 (continuous time)."""
    x, u = ca.SX.sym("x", 2), ca.SX.sym("u")
    problem = ocp.Problem(
        state=x,
        control=u,
        dynamics=ca.vertcat(x[1], u),
        horizon=ocp.Horizon.fixed(3.0),
        initial_state=[0.0, 0.0],
        control_bounds=ocp.Bounds([-1.0], [1.0]),
        l1_costs={"fuel": ocp.L1Cost(u)},
        final_constraints=(ocp.Constraint.equal(x - ca.DM([1.0, 0.0])),),
    )
    K = 60
    sol = ocp.solve(problem, ocp.MultipleShooting(K=K), ocp.SolverOptions(tol=1e-10))
    assert sol.success
    t1 = (3 - np.sqrt(5)) / 2
    assert sol.objective == pytest.approx(2 * t1, rel=2e-2)  # piecewise-constant controls on h = 0.05
    sigma, control = np.asarray(sol.maximum_principle.switching)[:, 0], sol.controls[:, 0]
    mids = 0.5 * (sol.t[:-1] + sol.t[1:])
    line = np.polyfit(mids, sigma, 1)
    assert np.max(np.abs(np.polyval(line, mids) - sigma)) <= 1e-6  # affine in t
    off, full, back = np.abs(control) <= 1e-6, control >= 1 - 1e-6, control <= -1 + 1e-6
    assert off.sum() > 30 and full.sum() >= 5 and back.sum() >= 5
    assert np.all(np.abs(sigma[off]) <= 1 + 1e-6)
    assert np.all(sigma[full] <= -1 + 1e-6) and np.all(sigma[back] >= 1 - 1e-6)
