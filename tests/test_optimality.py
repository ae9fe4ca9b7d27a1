"""The check of IPOPT's point: reduced-Hessian eigenvalues against analytic values, the first-order gap."""

import casadi as ca
import numpy as np
import pytest
from test_first_order import METHOD as FREE_TIME_METHOD
from test_first_order import free_time_ensemble

import ocp
from ocp.solvers.optimality import OptimalityCheck

K = 4
H = 1.0 / K
EULER = ocp.MultipleShooting(K=K, integrator=ocp.Euler())


def integrator_problem(terminal=None, effort: float = 0.0, final=None, **extra) -> ocp.Problem:
    """x' = u, x(0) = 0, T = 1, Euler: x(T) = h sum_k u_k, cost effort int u^2 + terminal(x(T)).

    The condensed Hessian is 2 effort h I + terminal''(x(T)) h^2 1 1^T, with eigenvalues
    2 effort h (K - 1 times) and 2 effort h + terminal'' h^2 K. ``final(x)``: a final equality
    constraint; ``extra``: other `ocp.Problem` fields (e.g. bounds).
    """
    x, u = ca.SX.sym("x"), ca.SX.sym("u")
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=u,
        initial_state=[0.0],
        running_costs={"effort": effort * u**2} if effort else {},
        terminal_costs={"miss": terminal(x)} if terminal else {},
        final_constraints=(final(x),) if final else (),
        **extra,
    )


def test_minimum_has_the_analytic_eigenvalues_and_no_gap():
    """(x(T) - 1)^2 + int u^2: u = 1/2 everywhere, eigenvalues 2h = 0.5 and 2h + 2h^2 K = 1."""
    sol = ocp.solve(integrator_problem(lambda x: (x - 1) ** 2, effort=1.0), EULER)
    assert sol.success and sol.objective == pytest.approx(0.5, rel=1e-10)
    report = sol.optimality
    assert report["second_order_ok"] is True and not report["warning"] and not report["skipped"]
    assert report["smallest_eigenvalue"] == pytest.approx(2 * H, rel=1e-10)
    assert report["largest_eigenvalue"] == pytest.approx(2 * H + 2 * H**2 * K, rel=1e-10)
    assert abs(report["first_order_gap"]) <= 1e-12


def test_saddle_is_flagged_with_the_analytic_negative_eigenvalue():
    """(x(T)^2 - 1)^2 + 0.1 int u^2 from u = 0: the gradient is zero, so IPOPT stops there at once.

    terminal''(0) = -4: eigenvalues 0.2 h = 0.05 and 0.05 - 4 h^2 K = -0.95. L-BFGS-B sees a zero
    gradient too, so only the second-order test can tell this is not a minimum.
    """
    problem = integrator_problem(lambda x: (x**2 - 1) ** 2, effort=0.1)
    start = ocp.InitialGuess(controls=np.zeros((K, 1)))
    sol = ocp.solve(problem, EULER, ocp.SolverOptions(first_order_iterations=0), initial_guess=start)
    assert sol.success and sol.objective == pytest.approx(1.0, rel=1e-12)  # stayed at the saddle
    report = sol.optimality
    assert report["second_order_ok"] is False
    assert report["smallest_eigenvalue"] == pytest.approx(0.2 * H - 4 * H**2 * K, rel=1e-10)
    assert report["largest_eigenvalue"] == pytest.approx(0.95, rel=1e-10)  # largest |eigenvalue|
    assert "negative eigenvalue" in report["warning"]


def test_hessian_equals_casadis_dense_hessian_with_free_time_and_parameter():
    """Independent reference: casadi.hessian of the condensed objective, on every kind of variable."""
    problem = free_time_ensemble()
    solver = ocp.OCPSolver(problem, FREE_TIME_METHOD)
    sol = solver.solve()
    check = OptimalityCheck(solver._condensed_phase())
    nlp, index = check.phase.condensed, check.phase.full_index
    p = solver._nlp_parameters({}, None, None)
    z = sol.primal[index]
    columns = np.setdiff1d(np.arange(len(z)), nlp.layout.states.ravel())  # X_0 is fixed
    reference = ca.Function("h", [nlp.w, nlp.p], [ca.hessian(nlp.f, nlp.w)[0]])
    expected = np.asarray(reference(z, p))[np.ix_(columns, columns)]
    assert check._hessian(z, p, columns) == pytest.approx(expected, rel=1e-10, abs=1e-12)
    assert len(nlp.layout.horizon) == 1 and nlp.layout.horizon[0] in columns


def test_stopping_ipopt_early_shows_a_first_order_gap():
    problem = integrator_problem(lambda x: (x - 1) ** 2, effort=1.0)
    start = ocp.InitialGuess(controls=np.full((K, 1), 3.0))
    options = ocp.SolverOptions(first_order_iterations=0, max_iter=0)
    sol = ocp.solve(problem, EULER, options, initial_guess=start)
    assert not sol.success
    assert sol.optimality["first_order_gap"] > 1e-3  # the quadratic's minimum is 0.5, the start 4.0
    assert "L-BFGS-B steps" in sol.optimality["warning"]


def test_bounds_at_the_solution_remove_their_directions():
    """With u <= 0.2 active everywhere the control space has no free direction: nothing to bend."""
    problem = integrator_problem(lambda x: (x - 1) ** 2, control_bounds=ocp.Bounds(-1.0, 0.2))
    sol = ocp.solve(problem, EULER)
    assert sol.controls == pytest.approx(0.2, abs=1e-7)
    assert sol.optimality["second_order_ok"] is True and sol.optimality["smallest_eigenvalue"] == 0.0


def test_skipped_with_a_reason_and_kept_through_save_and_load(tmp_path):
    constrained = integrator_problem(effort=1.0, final=lambda x: ocp.Constraint.equal(x, 1.0))
    assert "constraints" in ocp.solve(constrained, EULER).optimality["skipped"]
    off = ocp.solve(constrained, EULER, ocp.SolverOptions(check_optimality=False))
    assert "check_optimality" in off.optimality["skipped"]
    sol = ocp.solve(integrator_problem(lambda x: (x - 1) ** 2, effort=1.0), EULER)
    loaded = ocp.Solution.load(sol.save(tmp_path / "s.npz"))
    assert dict(loaded.optimality) == dict(sol.optimality)
