"""Solver behaviour: parameters without rebuild, warm starts, free parameters, Solution I/O."""

import json

import casadi as ca
import numpy as np
import pytest

import ocp


def decay_problem(rate_guess: float = 0.5):
    """Fit a free decay rate p in x' = -p x + u so that x(T) = 0.25 from x(0) = 1.

    With weight w on int u^2 and a large miss penalty, the optimum is u = 0 and
    p = ln(4) / T: a known answer for a free parameter.
    """
    x, u, p = ca.SX.sym("x"), ca.SX.sym("u"), ca.SX.sym("p")
    w = ca.SX.sym("w")
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=-p * x + u,
        horizon=ocp.Horizon.fixed(2.0),
        initial_state=[1.0],
        free_parameters=(ocp.FreeParameter(p, ocp.Bounds(0.0, 5.0), rate_guess),),
        parameters=(ocp.Parameter(w, 1.0),),
        running_costs={"effort": w * u**2},
        final_constraints=(ocp.Constraint.equal(x, 0.25),),
    )


def test_free_parameter_recovers_known_rate():
    sol = ocp.solve(decay_problem(), ocp.MultipleShooting(K=20, integrator=ocp.RK4(4)))
    assert sol.success
    assert sol.free_parameters["p"][0] == pytest.approx(np.log(4) / 2.0, rel=1e-7)
    assert sol.costs["effort"] == pytest.approx(0.0, abs=1e-10)


def lq_problem():
    x, u, lam = ca.SX.sym("x"), ca.SX.sym("u"), ca.SX.sym("lam")
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=x + u,
        horizon=ocp.Horizon.fixed(1.0),
        initial_state=[1.0],
        parameters=(ocp.Parameter(lam, 1.0),),
        running_costs={"effort": lam * u**2},
        terminal_costs={"miss": 10 * x**2},
    )


def test_new_T_and_weight_reuse_the_build():
    x, u = ca.SX.sym("x"), ca.SX.sym("u")
    method = ocp.MultipleShooting(K=30)
    solver = ocp.OCPSolver(lq_problem(), method)
    reused = solver.solve(T=2.5, parameters={"lam": 0.1})
    fresh_problem = ocp.Problem(
        state=x,
        control=u,
        dynamics=x + u,
        horizon=ocp.Horizon.fixed(2.5),
        initial_state=[1.0],
        running_costs={"effort": 0.1 * u**2},
        terminal_costs={"miss": 10 * x**2},
    )
    fresh = ocp.solve(fresh_problem, method)
    assert reused.T == 2.5 and reused.t[-1] == pytest.approx(2.5)
    assert reused.parameters["lam"][0] == 0.1
    assert reused.objective == pytest.approx(fresh.objective, rel=1e-9)
    assert reused.build_time_s == solver.build_time_s  # the same build served both solves


def test_unknown_parameter_name_is_refused():
    solver = ocp.OCPSolver(lq_problem(), ocp.MultipleShooting(K=5))
    with pytest.raises(
        ocp.ProblemError, match="unknown parameter\\(s\\) \\['lambda'\\]; the problem declares \\['lam'\\]"
    ):
        solver.solve(parameters={"lambda": 0.1})


def test_warm_start_from_own_solution_converges_at_once():
    solver = ocp.OCPSolver(decay_problem(), ocp.MultipleShooting(K=20))
    cold = solver.solve()
    warm = solver.solve(initial_guess=cold)
    assert warm.success
    assert warm.iterations <= 2 < cold.iterations
    assert warm.objective == pytest.approx(cold.objective, abs=1e-10)


def test_guess_from_a_coarser_grid_is_interpolated():
    coarse = ocp.solve(lq_problem(), ocp.MultipleShooting(K=10))
    fine_solver = ocp.OCPSolver(lq_problem(), ocp.MultipleShooting(K=40))
    from_coarse = fine_solver.solve(initial_guess=coarse)
    cold = fine_solver.solve()
    assert from_coarse.success
    assert from_coarse.objective == pytest.approx(cold.objective, rel=1e-9)
    assert from_coarse.iterations <= cold.iterations


def test_path_constraint_equals_control_bound():
    x, u = ca.SX.sym("x"), ca.SX.sym("u")
    common = dict(
        state=x,
        control=u,
        dynamics=x + u,
        horizon=ocp.Horizon.fixed(1.0),
        initial_state=[1.0],
        running_costs={"effort": u**2},
        terminal_costs={"miss": 10 * x**2},
    )
    bounded = ocp.solve(ocp.Problem(**common, control_bounds=ocp.Bounds(-0.8, 0.8)))
    constrained = ocp.solve(ocp.Problem(**common, path_constraints=(ocp.Constraint(u, -0.8, 0.8),)))
    assert bounded.controls.min() == pytest.approx(-0.8, abs=1e-6)  # the bound is active
    assert constrained.objective == pytest.approx(bounded.objective, rel=1e-7)


def test_solution_round_trip_and_plain_numpy_format(tmp_path):
    sol = ocp.solve(decay_problem(), ocp.MultipleShooting(K=8))
    path = sol.save(tmp_path / "out" / "solution.npz")
    loaded = ocp.Solution.load(path)
    for name in ("t", "states", "controls", "primal", "multipliers_g"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(sol, name))
    assert loaded.costs == sol.costs and loaded.status == sol.status and loaded.iterations == sol.iterations
    assert loaded.free_parameters["p"] == pytest.approx(sol.free_parameters["p"])
    with np.load(path, allow_pickle=False) as raw:  # readable without this package
        meta = json.loads(str(raw["metadata"]))
        assert meta["objective"] == sol.objective and raw["states"].shape == (1, 9, 1)


def test_solution_plot_writes_a_png(tmp_path):
    sol = ocp.solve(decay_problem(), ocp.MultipleShooting(K=8))
    sol.plot(tmp_path / "solution.png")
    assert (tmp_path / "solution.png").read_bytes()[:4] == b"\x89PNG"


def test_solution_is_immutable():
    sol = ocp.solve(lq_problem(), ocp.MultipleShooting(K=5))
    with pytest.raises(AttributeError):
        sol.objective = 0.0
    with pytest.raises(ValueError):
        sol.controls[0, 0] = 1.0


def test_failed_solve_reports_status_in_words():
    x, u = ca.SX.sym("x"), ca.SX.sym("u")
    impossible = ocp.Problem(  # |u| <= 0.1 cannot bring x from 1 to 0 in time 1
        state=x,
        control=u,
        dynamics=u,
        horizon=ocp.Horizon.fixed(1.0),
        initial_state=[1.0],
        control_bounds=ocp.Bounds(-0.1, 0.1),
        final_constraints=(ocp.Constraint.equal(x, 0.0),),
        running_costs={"effort": u**2},
    )
    sol = ocp.solve(impossible, ocp.MultipleShooting(K=10))
    assert not sol.success
    assert sol.status == "Infeasible_Problem_Detected"
    assert "infeasible" in sol.message
    assert sol.constraint_violation > 0.5


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda x, u, z: dict(dynamics=x + z), "dynamics uses symbols the problem does not declare: \\['z'\\]"),
        (lambda x, u, z: dict(dynamics=ca.vertcat(x, x)), "dynamics must have shape \\(1, 1\\)"),
        (
            lambda x, u, z: dict(dynamics=x, running_costs={"c": ca.vertcat(u, u)}),
            "running_costs\\['c'\\] must be a scalar",
        ),
        (lambda x, u, z: dict(dynamics=x, horizon=ocp.Horizon(T=-1.0)), "T must be finite and > 0"),
        (lambda x, u, z: dict(dynamics=x, initial_state=[[1.0, 2.0]]), "initial_state must have 1 columns"),
    ],
)
def test_bad_problem_descriptions_name_the_argument(make, match):
    x, u, z = ca.SX.sym("x"), ca.SX.sym("u"), ca.SX.sym("z")
    with pytest.raises(ocp.ProblemError, match=match):
        ocp.Problem(state=x, control=u, **make(x, u, z))


def test_verbose_prints_a_progress_line_per_iteration(capfd):
    sol = ocp.solve(decay_problem(), ocp.MultipleShooting(K=5), ocp.SolverOptions(verbose=True))
    out = capfd.readouterr().out
    assert "iter    objective" in out
    lines = [line for line in out.splitlines() if line.strip()[:1].isdigit() and "e" in line]
    assert len(lines) >= sol.iterations


def test_ipopt_options_pass_through():
    sol = ocp.solve(decay_problem(), ocp.MultipleShooting(K=5), ocp.SolverOptions(ipopt={"max_iter": 1}))
    assert sol.status == "Maximum_Iterations_Exceeded" and sol.iterations == 1 and not sol.success
