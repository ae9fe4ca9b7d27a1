"""Stiff dynamics: the implicit integrators (Radau IIA, Gauss-Legendre) and the stability check of the
explicit ones (`ocp/solvers/stability.py`), against the exact zero-order-hold optimum of a stiff
linear-quadratic problem."""

from __future__ import annotations

import casadi as ca
import numpy as np
import pytest
import scipy.linalg as sl
from scipy.integrate import quad_vec, solve_ivp

import ocp
from ocp.problem.integrators import GaussLegendre, Radau

A = np.diag([-1.0, -1000.0])  # eigenvalues -1 and -1000: RK4 with h = 0.1 sees h |lambda| = 100 > 2.785
B = np.array([[1.0], [1.0]])
K, T, TERMINAL = 50, 5.0, 10.0


def stiff_lq(x0) -> ocp.Problem:
    """x' = A x + B u, min int |x|^2 + u^2 dt + 10 |x(T)|^2."""
    x, u = ca.SX.sym("x", 2), ca.SX.sym("u")
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=ca.mtimes(ca.DM(A), x) + ca.mtimes(ca.DM(B), u),
        horizon=ocp.Horizon.fixed(T),
        initial_state=[list(x0)],
        running_costs={"run": ca.sumsqr(x) + u**2},
        terminal_costs={"end": TERMINAL * ca.sumsqr(x)},
    )


def exact_optimum(x0) -> float:
    """The optimum over piecewise-constant controls of the exact ODE: the discrete Riccati recursion on the
    exact zero-order-hold discretisation (transition by the matrix exponential, the running cost's
    quadratic form by adaptive quadrature of exp(F' s) W exp(F s): Van Loan's closed form cancels
    catastrophically at h |lambda| = 100)."""
    n, h = 2, T / K
    F = np.block([[A, B], [np.zeros((1, 3))]])
    W = np.eye(3)
    Phi = sl.expm(F * h)
    Q = quad_vec(
        lambda s: sl.expm(F.T * s) @ W @ sl.expm(F * s), 0, h, epsabs=1e-15, epsrel=1e-13, points=[1e-3, 5e-3, 2e-2]
    )[0]
    Ad, Bd = Phi[:n, :n], Phi[:n, n:]
    P = TERMINAL * np.eye(n)
    for _ in range(K):
        G, H = Q[n:, n:] + Bd.T @ P @ Bd, Q[:n, n:].T + Bd.T @ P @ Ad
        P = Q[:n, :n] + Ad.T @ P @ Ad - H.T @ np.linalg.solve(G, H)
        P = (P + P.T) / 2
    x0 = np.asarray(x0, float)
    return float(x0 @ P @ x0)


def solve(x0, integrator) -> ocp.Solution:
    options = ocp.SolverOptions(check_optimality=False)
    return ocp.OCPSolver(stiff_lq(x0), ocp.MultipleShooting(K=K, integrator=integrator), options).solve()


def test_rk4_outside_its_stability_region_is_flagged_and_a_stable_step_count_is_not(caplog):
    """The issue's case: the fast mode starts excited (x(0) = (1, 1)); RK4 at one step per interval returns
    Solve_Succeeded on an optimum far from the true one. The check flags it, with the step count to use."""
    x0, exact = (1.0, 1.0), exact_optimum((1.0, 1.0))
    with caplog.at_level("WARNING", logger="ocp"):
        coarse = solve(x0, ocp.RK4(steps=1))
    assert coarse.success and coarse.objective > 2 * exact  # the silent failure the check exists for
    report = coarse.stability
    assert report.stable is False and report.bound == pytest.approx(2.785293563405282)
    assert report.guess == pytest.approx(100.0, rel=1e-9) and report.solution == pytest.approx(100.0, rel=1e-9)
    assert "at least 36 steps per interval" in report.advice and "radau" in report.advice
    assert any("rk4 with 1 step(s) per interval is outside its stability region" in r.message for r in caplog.records)
    assert coarse.summary()["stability"]["stable"] is False  # what summary.json shows
    fine = solve(x0, ocp.RK4(steps=200))  # h |lambda| = 0.5
    assert fine.stability.stable is True and fine.stability.solution == pytest.approx(0.5, rel=1e-9)
    assert fine.objective == pytest.approx(exact, rel=1e-5)  # RK4's error on the fast initial layer: 2e-6


@pytest.mark.parametrize(
    ("integrator", "tolerance"),
    [(Radau(steps=1, degree=3), 1e-7), (GaussLegendre(steps=1, degree=3), 1e-8), (Radau(steps=1, degree=2), 1e-4)],
)
def test_an_implicit_integrator_solves_the_stiff_problem_at_one_step_per_interval(integrator, tolerance):
    """No initial layer (x(0) = (1, 0)): the fast mode is driven by the control only. At one step per
    interval, where RK4 is unstable (h |lambda| = 100), the A-stable methods agree with the exact optimum."""
    x0 = (1.0, 0.0)
    exact = exact_optimum(x0)
    solution = solve(x0, integrator)
    assert solution.success and solution.objective == pytest.approx(exact, rel=tolerance)
    # linear dynamics: the first Newton iteration solves the stage equations exactly
    assert solution.stability.stable is True and solution.stability.newton_residual < 1e-10
    unstable = solve(x0, ocp.RK4(steps=1))
    assert unstable.stability.stable is False and abs(unstable.objective / exact - 1) > 0.03


@pytest.mark.parametrize(
    ("kind", "degree"), [(Radau, 2), (Radau, 3), (GaussLegendre, 1), (GaussLegendre, 2), (GaussLegendre, 3)]
)
def test_the_implicit_integrators_converge_at_their_order(kind, degree):
    """Error at t = 2 of x' = (-x1^2 + sin t, x1 - x2) against a tight reference: the fitted slope in the
    step is the order (2 degree - 1 for Radau IIA, 2 degree for Gauss-Legendre) within 0.3."""
    reference = solve_ivp(
        lambda t, x: [-(x[0] ** 2) + np.sin(t), x[0] - x[1]],
        (0, 2),
        [1.0, 0.0],
        method="DOP853",
        rtol=1e-13,
        atol=1e-14,
    ).y[:, -1]
    x, t0, h = ca.SX.sym("x", 2), ca.SX.sym("t0"), ca.SX.sym("h")
    steps, errors = [2, 4, 8, 16], []
    for n in steps:
        method = kind(steps=n, degree=degree, newton=6)
        end = method.integrate(lambda z, t: ca.vertcat(-(z[0] ** 2) + ca.sin(t), z[0] - z[1]), x, t0, h)
        value = np.asarray(ca.Function("end", [x, t0, h], [end])([1.0, 0.0], 0.0, 2.0)).ravel()
        errors.append(np.linalg.norm(value - reference))
    slope = np.polyfit(np.log(2.0 / np.asarray(steps)), np.log(errors), 1)[0]
    assert slope == pytest.approx(method.order, abs=0.3)


def test_an_ensemble_with_an_implicit_integrator_follows_each_member_s_own_dynamics():
    """Members in one vectorised batch (the default evaluation), a stiff cubic term, h = 0.5: with too few
    Newton iterations the check flags the residual (IPOPT optimises the truncated iteration); with enough,
    each member's optimal trajectory is the one-member Radau step rolled out from its own start under the
    shared controls."""
    x, u = ca.SX.sym("x", 2), ca.SX.sym("u")
    rhs = ca.mtimes(ca.DM(A), x) + ca.mtimes(ca.DM(B), u) - 0.1 * x**3
    starts = [[1.0, 0.0], [0.5, 0.2], [-0.3, 0.1]]
    problem = ocp.Problem(
        state=x,
        control=u,
        dynamics=rhs,
        horizon=ocp.Horizon.fixed(T),
        initial_state=starts,
        running_costs={"run": ca.sumsqr(x) + u**2},
        terminal_costs={"end": TERMINAL * ca.sumsqr(x)},
    )
    options = ocp.SolverOptions(check_optimality=False, first_order_iterations=0, tol=1e-12)

    def solve_with(radau):
        return ocp.OCPSolver(problem, ocp.MultipleShooting(K=10, integrator=radau), options).solve()

    truncated = solve_with(Radau(steps=1, degree=3, newton=3))
    assert truncated.stability.stable is False and truncated.stability.newton_residual > 1e-4
    assert "Newton iterations" in truncated.stability.advice
    radau = Radau(steps=1, degree=3, newton=8)
    solution = solve_with(radau)
    assert solution.success and solution.stability.stable is True and solution.states.shape == (3, 11, 2)
    f = ca.Function("f", [x, u], [rhs])
    step = ca.Function("step", [x, u], [radau.integrate(lambda z, _t: f(z, u), x, 0.0, T / 10)])
    for member, start in enumerate(starts):
        state = np.asarray(start, float)
        for k in range(10):
            state = np.asarray(step(state, solution.controls[k])).ravel()
            assert np.allclose(solution.states[member, k + 1], state, atol=1e-8)


def test_config_names_the_implicit_integrators_and_refuses_a_degree_for_an_explicit_one():
    from ocp.errors import ConfigError
    from ocp.run.settings import RunSettings

    run = RunSettings(problem="l2", integrator="radau", integrator_degree=2, steps=2)
    assert run.discretisation().integrator == Radau(steps=2, degree=2)
    assert RunSettings(problem="l2", integrator="gauss_legendre").discretisation().integrator == GaussLegendre(degree=3)
    with pytest.raises(ConfigError, match="integrator_degree"):
        RunSettings(problem="l2", integrator="rk4", integrator_degree=2)


def test_a_stiff_van_der_pol_ocp_is_solved_by_radau_and_collocation_where_rk4_is_unstable():
    """Van der Pol with mu = 100 (x1' = x2, x2' = mu (1 - x1^2) x2 - x1 + u), K = 20 on [0, 1]: RK4 at one step
    per interval leaves its stability region (the check says so, and IPOPT fails); Radau IIA with 3 points at
    one step, and collocation with 3 points, agree with RK4 converged at 40 and 80 steps per interval."""
    mu = 100.0
    x, u = ca.SX.sym("x", 2), ca.SX.sym("u")
    problem = ocp.Problem(
        state=x,
        control=u,
        dynamics=ca.vertcat(x[1], mu * (1 - x[0] ** 2) * x[1] - x[0] + u),
        horizon=ocp.Horizon.fixed(1.0),
        initial_state=[[2.0, 0.0]],
        running_costs={"track": (x[0] - 1) ** 2 + 1e-3 * u**2},
        terminal_costs={"end": (x[0] - 1) ** 2},
    )
    options = ocp.SolverOptions(check_optimality=False)

    def solve_by(method):
        return ocp.OCPSolver(problem, method, options).solve()

    coarse = solve_by(ocp.MultipleShooting(K=20, integrator=ocp.RK4(1)))
    assert coarse.stability.stable is False and coarse.stability.solution > ocp.RK4.stability_bound
    references = [solve_by(ocp.MultipleShooting(K=20, integrator=ocp.RK4(n))).objective for n in (40, 80)]
    assert references[0] == pytest.approx(references[1], rel=1e-9)  # converged in the steps
    radau = solve_by(ocp.MultipleShooting(K=20, integrator=Radau(steps=1, degree=3)))
    assert radau.success and radau.stability.stable is True
    assert radau.objective == pytest.approx(references[1], rel=1e-6)
    collocation = solve_by(ocp.DirectCollocation(K=20, degree=3))
    assert collocation.success and collocation.objective == pytest.approx(references[1], rel=1e-6)


def test_van_der_pol_at_mu_1000_implicit_methods_converge_to_the_rk4_optimum_where_rk4_at_one_step_is_unstable():
    """Van der Pol with mu = 1000, x1' = x2, x2' = mu (1 - x1^2) x2 - x1 + u, driven by u = mu w with w' = v and
    v the piecewise-constant control (K = 20 on [0, 1]); track x1 -> 1.5 from x(0) = (2, -2 / (3 mu), 0), on the
    slow manifold. df/dx has an eigenvalue near -mu (x1^2 - 1) = -3000 at x1 = 2: h rho = 150 at one step per
    interval. RK4 there is unstable (the check says so); Radau IIA and collocation at the Radau points solve
    it, and agree with RK4 at 100 and 200 steps per interval (h rho <= 1.5; the two agree to 1e-10), the gap
    falling with the degree: measured 3.6e-5, 3.2e-7, 1.1e-11 (relative) at 2, 3, 4 points.

    Why u is integrated from the control rather than the control itself: a piecewise-constant u jumps at
    every node, and each jump starts a layer in x2 of width 1 / 3000 that no fixed number of points resolves
    at h = 0.05. Measured with u itself the piecewise-constant control (x(0) = (2, 0), weight 1e-7 on u^2,
    against RK4 at 400 steps): collocation at 3, 4, 5 points off by +2.6e-7, -4.8e-7, +3.1e-7 (relative),
    Radau at 1, 2, 4, 8 steps by +2.6e-7, -6.1e-8, -7.0e-8, -4.4e-8: no convergence at this precision.
    Radau inside multiple shooting starts from collocation's 2-point optimum: from the default start its
    Newton iterations (8, from explicit-Euler slopes) diverge at h rho = 150 and the check flags the
    residual (measured: 6e3 after 60 IPOPT iterations)."""
    mu = 1000.0
    x, v = ca.SX.sym("x", 3), ca.SX.sym("v")
    problem = ocp.Problem(
        state=x,
        control=v,
        dynamics=ca.vertcat(x[1], mu * (1 - x[0] ** 2) * x[1] - x[0] + mu * x[2], v),
        horizon=ocp.Horizon.fixed(1.0),
        initial_state=[[2.0, -2.0 / (3 * mu), 0.0]],
        running_costs={"track": (x[0] - 1.5) ** 2 + 1e-4 * v**2},
        terminal_costs={"end": (x[0] - 1.5) ** 2},
    )
    options = ocp.SolverOptions(check_optimality=False, tol=1e-12)

    def solve_by(method, start=None, options=options):
        return ocp.OCPSolver(problem, method, options).solve(initial_guess=start)

    # RK4 at one step: unstable from the first node on (x1 = 2 there); IPOPT is stopped early, it is not the point
    coarse = solve_by(ocp.MultipleShooting(K=20, integrator=ocp.RK4(1)), None, ocp.SolverOptions(max_iter=50))
    assert coarse.stability.stable is False and coarse.stability.solution > 50 * ocp.RK4.stability_bound
    collocation = {d: solve_by(ocp.DirectCollocation(K=20, degree=d)) for d in (2, 3, 4)}
    assert all(solution.success for solution in collocation.values())
    radau = solve_by(ocp.MultipleShooting(K=20, integrator=Radau(steps=1, degree=3, newton=6)), collocation[2])
    assert radau.success and radau.stability.stable is True  # the Newton iterations converged (<= 1e-8)
    references = [solve_by(ocp.MultipleShooting(K=20, integrator=ocp.RK4(n)), collocation[2]) for n in (100, 200)]
    assert all(r.success and r.stability.stable for r in references)
    reference = references[1].objective
    assert references[0].objective == pytest.approx(reference, rel=1e-10)  # converged in the steps
    # Radau at one step is collocation at its 3 points, eliminated by Newton: one optimum
    assert radau.objective == pytest.approx(collocation[3].objective, rel=1e-10)
    gaps = [abs(collocation[d].objective / reference - 1) for d in (2, 3, 4)]
    assert gaps[0] > 10 * gaps[1] > 100 * gaps[2]
    assert gaps[1] < 1e-6 and gaps[2] < 1e-9
