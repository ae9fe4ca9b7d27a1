"""Direct collocation (`ocp.DirectCollocation`) against answers computed without it: the discrete
Riccati recursion of the collocation discretisation (numpy, from the Butcher tableau), the exact
sampled-data LQR optimum, the order of the collocation points, the minimum-time double integrator, the
Bryson-Denham state constraint; and the way in and out: warm starts to and from multiple shooting, the
state polynomial between the nodes, save and load, the search and the config."""

from __future__ import annotations

import casadi as ca
import numpy as np
import pytest
from lqr_reference import sampled_data_cost
from scipy.integrate import solve_ivp
from scipy.optimize import minimize_scalar
from test_known_answers import X0, A, B, Q, R, S, T, bryson_denham, lqr_problem, minimum_time_problem

import ocp
from ocp.problem.integrators import GaussLegendre, Radau


def collocation_lqr(K: int, degree: int, scheme: str):
    """The collocation discretisation of the LQR as a discrete LQR: with the stage slopes k = (I - h a (x) A)^-1
    (1 (x) (A x + B u)) (the collocation equations of a linear ODE), x+ = x + h sum_j b_j k_j and the stage
    cost h sum_j b_j L(stage_j, u). Returns (Ad, Bd, the stage cost's matrix over [x; u])."""
    method = Radau(degree=degree) if scheme == "radau" else GaussLegendre(degree=degree)
    a, b, _ = method.tableau()
    n, m, s, h = 2, 1, degree, T / K
    solve = np.linalg.inv(np.eye(n * s) - h * np.kron(a, A))
    slopes = solve @ np.kron(np.ones((s, 1)), np.hstack([A, B]))  # (n s, n + m): k as a map of [x; u]
    select = np.hstack([np.eye(n), np.zeros((n, m))])
    stages = [select + h * sum(a[i, j] * slopes[j * n : (j + 1) * n] for j in range(s)) for i in range(s)]
    end = select + h * sum(b[j] * slopes[j * n : (j + 1) * n] for j in range(s))
    W = np.zeros((n + m, n + m))
    W[:n, :n], W[n:, n:] = Q, R
    unit_u = np.hstack([np.zeros((m, n)), np.eye(m)])
    cost = h * sum(b[i] * (stages[i].T @ Q @ stages[i] + unit_u.T @ R @ unit_u) for i in range(s))
    return end[:, :n], end[:, n:], cost


@pytest.mark.parametrize(("degree", "scheme"), [(2, "radau"), (3, "radau"), (2, "legendre")])
def test_costates_are_the_gradient_of_the_riccati_value_function_of_the_collocation_discretisation(degree, scheme):
    """Eliminating the collocation values leaves a discrete LQR; its value function is x' P_k x, so the
    costate read from the continuity constraints' multipliers is 2 P_k x_k at every node, and the
    optimum is x_0' P_0 x_0."""
    K = 10
    Ad, Bd, M = collocation_lqr(K, degree, scheme)
    n = 2
    P = [S]
    for _ in range(K):
        G, H = M[n:, n:] + Bd.T @ P[0] @ Bd, Bd.T @ P[0] @ Ad + M[:n, n:].T
        P.insert(0, M[:n, :n] + Ad.T @ P[0] @ Ad - H.T @ np.linalg.solve(G, H))
    sol = ocp.solve(lqr_problem(), ocp.DirectCollocation(K=K, degree=degree, scheme=scheme))
    assert sol.success and sol.objective == pytest.approx(X0 @ P[0] @ X0, rel=1e-9)
    expected = np.array([2 * P[k] @ sol.states[0, k] for k in range(K + 1)])
    np.testing.assert_allclose(sol.costates[0], expected, rtol=1e-7, atol=1e-9)
    report = sol.maximum_principle
    assert report.residual <= 1e-8 * report.scale and report.difference <= 1e-7 * report.scale


def test_collocation_is_multiple_shooting_with_the_implicit_method_of_its_points():
    """The same optimum and controls: the stage values are eliminated by Newton inside multiple shooting,
    by IPOPT in collocation; with 3 elements per interval, against 3 implicit steps per interval."""
    for scheme, kind, steps in (("radau", Radau, 1), ("legendre", GaussLegendre, 1), ("legendre", GaussLegendre, 3)):
        dc = ocp.solve(lqr_problem(), ocp.DirectCollocation(K=8, degree=3, scheme=scheme, steps=steps))
        ms = ocp.solve(lqr_problem(), ocp.MultipleShooting(K=8, integrator=kind(steps, degree=3, newton=8)))
        assert dc.objective == pytest.approx(ms.objective, rel=1e-10)
        np.testing.assert_allclose(dc.controls, ms.controls, atol=1e-8)


def test_the_second_order_check_is_skipped_by_default_and_runs_on_request():
    """A solve by collocation says why it skips the costly check (the maximum principle still runs);
    `OCPSolver.check` runs it: the LQR's condensed Hessian is positive definite, and its smallest
    eigenvalue is that of multiple shooting with the same implicit method to 1e-8."""
    solver = ocp.OCPSolver(lqr_problem(), ocp.DirectCollocation(K=6, degree=2))
    sol = solver.solve()
    assert sol.optimality.skipped.startswith("direct collocation")
    assert not sol.maximum_principle.skipped
    report = solver.check(sol)
    assert report.second_order_ok and report.smallest_eigenvalue > 0
    ms = ocp.solve(lqr_problem(), ocp.MultipleShooting(K=6, integrator=Radau(degree=2, newton=8)))
    assert report.smallest_eigenvalue == pytest.approx(ms.optimality.smallest_eigenvalue, rel=1e-8)


def test_collocation_converges_to_the_exact_sampled_data_optimum():
    """Piecewise-constant controls on K = 20 intervals: the exact optimum (Van Loan's discretisation);
    three Radau points per interval are within 1e-6 of it."""
    exact = sampled_data_cost(A, B, Q, R, S, T, 20, X0)
    sol = ocp.solve(lqr_problem(), ocp.DirectCollocation(K=20, degree=3))
    assert sol.objective == pytest.approx(exact, rel=1e-6)


def order_problem():
    """x' = -x^2 + p sin(t), min (x(2) - 0.5)^2 + 0.1 p^2 over a constant p (a free parameter; the control u
    only costs, so it is 0), so the error in K is the collocation's alone, not the control grid's."""
    x, u, p, t = ca.SX.sym("x"), ca.SX.sym("u"), ca.SX.sym("p"), ca.SX.sym("t")
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=-(x**2) + p * ca.sin(t),
        time=t,
        horizon=ocp.Horizon.fixed(2.0),
        initial_state=[1.0],
        free_parameters=(ocp.FreeParameter(p, guess=0.0),),
        running_costs={"u": u**2},
        terminal_costs={"miss": (x - 0.5) ** 2 + 0.1 * p**2},
    )


def exact_order_optimum() -> float:
    def cost(p):
        end = solve_ivp(lambda t, x: [-(x[0] ** 2) + p * np.sin(t)], (0, 2), [1.0], rtol=1e-13, atol=1e-14).y[0, -1]
        return (end - 0.5) ** 2 + 0.1 * p**2

    return minimize_scalar(cost, bracket=(-1, 1), tol=1e-12).fun


@pytest.mark.parametrize(
    ("degree", "scheme", "order"), [(1, "radau", 1), (2, "radau", 3), (1, "legendre", 2), (2, "legendre", 4)]
)
def test_the_optimum_converges_in_K_at_the_order_of_the_collocation_points(degree, scheme, order):
    """Fitted slope of log |error| against log h within 0.3 of 2 s - 1 (Radau) or 2 s (Legendre)."""
    exact = exact_order_optimum()
    Ks = [4, 8, 16, 32] if order <= 2 else [2, 4, 8, 16]
    errors = []
    for K in Ks:
        sol = ocp.solve(order_problem(), ocp.DirectCollocation(K=K, degree=degree, scheme=scheme))
        assert sol.success
        errors.append(abs(sol.objective - exact))
    slope = np.polyfit(np.log(1.0 / np.asarray(Ks)), np.log(errors), 1)[0]
    assert slope == pytest.approx(order, abs=0.3), errors


def test_minimum_time_double_integrator():
    """From (1, 0) to rest with |u| <= 1 in free time: T* = 2, one switch at the middle."""
    sol = ocp.solve(minimum_time_problem(), ocp.DirectCollocation(K=20, degree=2))
    assert sol.success and sol.T == pytest.approx(2.0, abs=1e-6)
    np.testing.assert_allclose(sol.controls[:10, 0], -1.0, atol=1e-5)
    np.testing.assert_allclose(sol.controls[10:, 0], 1.0, atol=1e-5)


def test_bryson_denham_with_the_path_constraint_at_the_collocation_points():
    """x <= 1/9: J* = 4 / (9 l) = 4. With the bound at the collocation points as well (a path constraint),
    the state polynomial stays below it between the nodes too."""
    limit = 1 / 9
    base = bryson_denham(limit)
    problem = ocp.Problem(
        state=base.state,
        control=base.control,
        dynamics=base.dynamics,
        horizon=base.horizon,
        initial_state=[0.0, 1.0],
        final_constraints=base.final_constraints,
        path_constraints=(ocp.Constraint.at_most(base.state[0], limit),),
        running_costs=base.running_costs,
    )
    method = ocp.DirectCollocation(K=100, degree=3, path_at_collocation_points=True)
    sol = ocp.solve(problem, method)
    assert sol.success and sol.objective == pytest.approx(4.0, rel=1e-3)
    assert sol.collocation_states[0, :, :, 0].max() <= limit + 1e-7


def test_the_state_polynomial_between_nodes_and_warm_starts_both_ways(tmp_path):
    method = ocp.DirectCollocation(K=10, degree=3)
    dc = ocp.solve(lqr_problem(), method)
    assert dc.collocation_states.shape == (1, 10, 3, 2)
    # at a node the polynomial is the node state; at a collocation point it is that point's value
    np.testing.assert_allclose(dc.state_at(dc.t[4]), dc.states[:, 4], atol=1e-12)
    point = dc.t[4] + method.points()[0] * (dc.t[5] - dc.t[4])
    np.testing.assert_allclose(dc.state_at(point), dc.collocation_states[:, 4, 0], atol=1e-10)
    # between: the polynomial against the ODE integrated from the node with the interval's control
    t_mid = 0.5 * (dc.t[4] + dc.t[5])
    exact = solve_ivp(lambda t, x: A @ x + B[:, 0] * dc.controls[4, 0], (dc.t[4], t_mid), dc.states[0, 4], rtol=1e-12)
    # (Radau's stage order is s = 3: between the nodes the polynomial is O(h^4) = 2e-3 x a constant off)
    np.testing.assert_allclose(dc.state_at(t_mid)[0], exact.y[:, -1], atol=1e-5)
    # multiple shooting from the collocation solution, and back: few iterations each
    ms_solver = ocp.OCPSolver(lqr_problem(), ocp.MultipleShooting(K=10, integrator=Radau(degree=3, newton=8)))
    ms = ms_solver.solve(initial_guess=dc, first_order_iterations=0)
    assert ms.success and ms.iterations <= 3 and ms.objective == pytest.approx(dc.objective, rel=1e-10)
    back = ocp.OCPSolver(lqr_problem(), method).solve(initial_guess=ms, first_order_iterations=0)
    assert back.success and back.iterations <= 3
    with pytest.raises(ocp.ProblemError, match="direct collocation"):
        ms.state_at(t_mid)
    # save and load keep the collocation values
    dc.save(tmp_path / "dc.npz")
    loaded = ocp.Solution.load(tmp_path / "dc.npz")
    np.testing.assert_array_equal(loaded.collocation_states, dc.collocation_states)
    np.testing.assert_allclose(loaded.state_at(t_mid), dc.state_at(t_mid))


def test_a_search_runs_collocation_in_its_workers():
    from ocp.search.multistart import multistart
    from ocp.search.settings import SearchSettings

    best = multistart(
        lqr_problem(),
        ocp.DirectCollocation(K=10, degree=2),
        SearchSettings(effort="quick", workers=2, seed=0),
        ocp.SolverOptions(check_optimality=False),
    )
    single = ocp.solve(lqr_problem(), ocp.DirectCollocation(K=10, degree=2))
    assert best.objective == pytest.approx(single.objective, rel=1e-9)  # convex: every draw agrees
    assert best.collocation_states.shape == (1, 10, 2, 2)


def test_exact_l1_costs_and_known_per_interval_inputs_with_sampled_costs():
    """The minimum-fuel transfer costs exactly the distance (L1 through slacks on the node grid, as in
    multiple shooting); a driven linear system with each member's own per-interval inputs, observed at
    uneven times, gives back A and B (5 Radau points: order 9 at the nodes)."""
    from test_known_inputs import A_TRUE, B_TRUE, _inputs_problem, _records
    from test_l1_costs import minimum_fuel_problem

    fuel = minimum_fuel_problem()
    sol = ocp.solve(fuel, ocp.DirectCollocation(K=10, degree=2), ocp.SolverOptions(tol=1e-10))
    assert sol.success and sol.objective == pytest.approx(1.0, rel=1e-7)
    rng = np.random.default_rng(0)
    times = np.cumsum(np.r_[0.0, rng.uniform(0.2, 0.5, size=14)])
    inputs, starts, observed = _records(rng, times, members=3)
    method = ocp.DirectCollocation(K=times.size - 1, grid=times / times[-1], degree=5)
    problem = _inputs_problem(observed, inputs, times[-1])
    fit = ocp.OCPSolver(problem, method).solve(initial_guess=ocp.InitialGuess(states=observed))
    assert fit.success
    theta = np.asarray(fit.free_parameters["theta"])
    assert np.max(np.abs(theta[:4].reshape(2, 2, order="F") - A_TRUE)) < 1e-6
    assert np.max(np.abs(theta[4:] - B_TRUE)) < 1e-6


def solve_config(name: str, K: int, method: dict | None, warm=None, n_train: int = 20):
    """A shipped learning config at a small size (``n_train`` training points), with the ``method`` section given
    (None: multiple shooting with RK4 at 8 steps per interval, converged to about 1e-9 on this grid)."""
    from ocp.run.config import load_yaml
    from ocp.run.solve import parse_config
    from ocp.search.strategies import solve_with

    data = load_yaml(f"configs/{name}.yaml")
    data["data"].update(n_train=n_train, n_test=20)
    data.update(K=K, multistart={"starts": 1, "extra_strategies": [], "effort": "portfolio"})
    data["solver"] = {**data.get("solver", {}), "check_optimality": False}
    if method is None:
        data["steps"] = 8
    else:
        data["method"] = method
    run, settings, ptype = parse_config(data)
    setup = ptype.build(settings, run)
    solver = ocp.OCPSolver(setup.problem, run.discretisation(), run.solver.options())
    parameters = {p.name: p.value for p in setup.problem.parameters}
    if warm is not None:
        return solver.solve(initial_guess=warm, parameters=parameters, T=run.T, first_order_iterations=0)
    return solve_with(
        solver, run.initializations()[0], parameters=parameters, T=run.T, initial_guess=setup.initial_guess
    )


@pytest.mark.parametrize(
    ("name", "n_train"), [("annulus_l2", 20), ("annulus_turnpike", 20), ("spacetime_variable_width", 6)]
)
def test_shipped_learning_configs_reach_the_multiple_shooting_optimum_as_K_grows(name, n_train):
    """Each config's own continuous problem on K intervals: collocation with 3 Radau points, started from
    the multiple-shooting optimum (RK4, 8 steps per interval), stops at its own optimum nearest to it;
    the relative difference is mostly collocation's discretisation error (order 5 in h once h times the
    dynamics' rate is small: 6e-6 at K = 10 and 2e-8 at K = 20 on annulus_l2, benchmarks/README.md), so
    it must shrink at least 4-fold as K doubles (or sit at the floor of the two solves' tolerances, 1e-6)
    and be below 1e-3 at K = 20. The turnpike config has a
    tracking cost and larger controls (so a slower start of the convergence), the variable-width one
    interval sizes with a split of the state between blocks. annulus_l1 is left to the benchmark: at
    T = 10 its controls make h |df/dx| about 5 on one interval of K = 10, where neither discretisation
    is converged (RK4 at 8 and at 64 steps differ by 0.25 %)."""
    difference = []
    for K in (10, 20):
        reference = solve_config(name, K, None, n_train=n_train)
        assert reference.success, reference.message
        sol = solve_config(name, K, {"kind": "collocation", "degree": 3}, warm=reference, n_train=n_train)
        assert sol.success, sol.message
        difference.append(abs(sol.objective - reference.objective) / abs(reference.objective))
    # at least second order (5 once h is small), unless both sit at the solvers' floor (IPOPT tol 1e-8)
    assert difference[1] < max(difference[0] / 4, 1e-6), difference
    assert difference[1] < 1e-3, difference


def test_the_resolution_check_reports_the_node_state_error_of_an_under_resolved_grid(caplog):
    """x' = -a x + u with u fixed at 0, x(0) = 1: collocation with one Radau point is implicit Euler, whose
    node states (1 + a h)^-k are known, as is the ODE's e^(-a h k). The check's re-simulated difference is
    their largest gap (to the RK4 reference's 1e-6), flagged with a warning above the tolerance; with 3
    points per interval on a fine grid the gap is below it and nothing is said."""
    a, K = 5.0, 2
    x, u = ca.SX.sym("x"), ca.SX.sym("u")
    problem = ocp.Problem(
        state=x,
        control=u,
        dynamics=-a * x + u,
        horizon=ocp.Horizon.fixed(1.0),
        initial_state=[1.0],
        control_bounds=ocp.Bounds(0.0, 0.0),
        running_costs={"x": x**2},
    )
    coarse = ocp.solve(problem, ocp.DirectCollocation(K=K, degree=1))
    h = 1.0 / K
    k = np.arange(K + 1)
    expected = np.max(np.abs((1 + a * h) ** -k - np.exp(-a * h * k)))
    report = coarse.stability
    assert report.resimulated_difference == pytest.approx(expected, abs=1e-6)
    assert report.stable is False and report.solution == pytest.approx(a * h, rel=1e-12)
    assert "does not resolve the dynamics" in report.advice
    assert any("does not resolve the dynamics" in r.message for r in caplog.records)
    assert coarse.summary()["stability"]["resimulated_difference"] == pytest.approx(expected, abs=1e-6)
    fine = ocp.solve(problem, ocp.DirectCollocation(K=20, degree=3))
    assert fine.stability.stable is True and fine.stability.resimulated_difference < 1e-5
    # stopped before the collocation equations hold (states guessed constant, no iteration): the difference
    # is the guess's, 1 - e^(-a), and the report says so instead of advising more elements
    caplog.clear()
    early = ocp.solve(
        problem,
        ocp.DirectCollocation(K=20, degree=3),
        ocp.SolverOptions(max_iter=0, first_order_iterations=0),
        initial_guess=ocp.InitialGuess(states=[1.0]),
    )
    assert not early.success and early.constraint_violation > 0.1
    assert early.stability.stable is None and "do not hold at this point" in early.stability.advice
    assert early.stability.resimulated_difference == pytest.approx(1 - np.exp(-a), abs=1e-6)
    assert not any("resolve" in r.message for r in caplog.records)
    # M elements per interval under the same K controls: implicit Euler on h / M, nodes every M elements
    M = 4
    split = ocp.solve(problem, ocp.DirectCollocation(K=K, degree=1, steps=M))
    j = np.arange(K * M + 1)
    euler, exact = (1 + a * h / M) ** -j, np.exp(-a * h / M * j)
    assert split.stability.resimulated_difference == pytest.approx(np.max(np.abs(euler - exact)[::M]), abs=1e-6)
    np.testing.assert_allclose(split.collocation_states[0, :, :, 0].ravel(), euler[1:], rtol=1e-9)
    np.testing.assert_allclose(split.collocation_points, (np.arange(M) + 1.0) / M)
    assert split.state_at(0.375)[0, 0] == pytest.approx(euler[3], rel=1e-9)  # an element's end
    assert split.state_at(0.3)[0, 0] == pytest.approx(euler[2] + 0.4 * (euler[3] - euler[2]), rel=1e-9)
