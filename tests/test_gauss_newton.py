"""The lifted Gauss-Newton solver (``solver: gauss_newton``) against IPOPT on the same fits, and its refusals."""

import json
from dataclasses import replace

import casadi as ca
import numpy as np
import pytest
import yaml
from single_solve import SINGLE_SOLVE

import ocp
from ocp.cli import main
from ocp.run.solve import parse_config
from ocp.solvers.gauss_newton import GaussNewton
from ocp.solvers.status import Status
from problems.timeseries.series import PENDULUM_FRICTION, PENDULUM_G_OVER_L


def fit(model: dict, noise: float, lam: float = 0.0):
    """The time-series fit of a damped linear oscillator (2 members x 40 samples) as problem, method, guess."""
    config = {
        "problem": "timeseries",
        "integrator": "rk4",
        "steps": 2,
        "parallelization": "serial",
        "lambda": lam,
        "data": {"source": "linear", "members": 2, "samples": 40, "t_end": 6.0, "noise": noise},
        "model": model,
        "bands": {"level": None},
        **SINGLE_SOLVE,
    }
    run, settings, ptype = parse_config(config)
    setup = ptype.build(settings, run)
    run = setup.run
    return setup.problem, run.discretisation(), setup.initial_guess, run.T


def test_a_linear_model_reaches_ipopts_optimum():
    """The model x' = A x + b is nonlinear in A through the trajectories; both solvers find the same optimum
    from the same start (a different method to the same KKT point): objective to 1e-9 relative, A to 1e-6."""
    problem, method, guess, T = fit({"kind": "linear"}, noise=0.01)
    options = ocp.SolverOptions(tol=1e-10)
    mine = GaussNewton(problem, method, options).solve(T=T, initial_guess=guess)
    theirs = ocp.OCPSolver(problem, method, replace(options, first_order_iterations=0)).solve(T=T, initial_guess=guess)
    assert mine.status == Status.SOLVE_SUCCEEDED, mine.message
    assert theirs.success
    assert abs(mine.objective - theirs.objective) <= 1e-9 * theirs.objective
    np.testing.assert_allclose(mine.free_parameters["theta"], theirs.free_parameters["theta"], atol=1e-6)
    assert mine.optimality.stationarity <= 1e-10  # the Lagrangian's gradient it stopped on
    assert mine.constraint_violation <= 1e-10


@pytest.mark.parametrize("how", ["returns True", "Ctrl-C"])
def test_a_stop_after_step_two_keeps_the_point_of_step_two(how):
    """The callback sees each accepted step. Returning True from it, or a KeyboardInterrupt inside the
    iteration (raised here by the callback, where Ctrl-C would arrive), ends the solve there with status
    USER_REQUESTED_STOP and the point the callback was shown: the weights bit for bit, the objective equal."""
    problem, method, guess, T = fit({"kind": "linear"}, noise=0.01)
    seen = []

    def stop_at_two(iteration, objective, free, states):
        seen.append((iteration, objective, np.array(free["theta"])))
        if iteration == 2 and how == "Ctrl-C":
            raise KeyboardInterrupt
        return iteration == 2

    sol = GaussNewton(problem, method, ocp.SolverOptions(tol=1e-10)).solve(
        T=T, initial_guess=guess, callback=stop_at_two
    )
    assert [row[0] for row in seen] == [1, 2]
    assert sol.status == Status.USER_REQUESTED_STOP and sol.iterations == 2
    assert sol.objective == seen[-1][1]
    np.testing.assert_array_equal(np.asarray(sol.free_parameters["theta"]).ravel(), seen[-1][2].ravel())


def test_the_pendulums_constants_come_back_through_the_config(tmp_path):
    """A fit nonlinear in its parameters, through ``solver: {name: gauss_newton}``: the pendulum theta'' =
    -(g/L) sin(theta) - c theta' with both constants fitted from 2 noise-free members (started at g/L = 5,
    c = 0). Zero residuals: Gauss-Newton's best case, and the same answer as the IPOPT test of the hybrid
    models (`test_timeseries_hybrid.py`): both constants to 1e-6 (RK4's error at 16 steps is 3.4e-7)."""
    config = {
        "problem": "timeseries",
        "integrator": "rk4",
        "steps": 16,
        "parallelization": "serial",
        "lambda": 0.0,
        "data": {"source": "pendulum", "members": 2, "samples": 50, "t_end": 10.0, "noise": 0.0},
        "model": {
            "kind": "none",
            "known": ["omega", "-g_over_L*sin(theta) - c*omega"],
            "parameters": {"g_over_L": {"value": 5.0, "fit": True}, "c": {"value": 0.0, "fit": True}},
        },
        "bands": {"level": None},
        "solver": {"name": "gauss_newton", "tol": 1e-10, "max_iter": 100},
        **SINGLE_SOLVE,
    }
    path = tmp_path / "pendulum.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["solve", str(path), "--out", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    fitted = summary["fitted_parameters"]
    assert abs(fitted["g_over_L"] - PENDULUM_G_OVER_L) < 1e-6 and abs(fitted["c"] - PENDULUM_FRICTION) < 1e-6
    assert summary["status"] == "Solve_Succeeded"


def test_problems_outside_its_form_are_refused_with_the_reason():
    x, u, theta = ca.SX.sym("x"), ca.SX.sym("u"), ca.SX.sym("theta")
    with_control = ocp.Problem(
        state=x, control=u, dynamics=theta * x + u, free_parameters=(ocp.FreeParameter(theta),), initial_state=[1.0]
    )
    with pytest.raises(ocp.ProblemError, match="controls"):
        GaussNewton(with_control)
    quartic = ocp.Problem(
        state=x,
        control=ca.SX.sym("u", 0),
        dynamics=theta * x,
        free_parameters=(ocp.FreeParameter(theta),),
        terminal_costs={"quartic": x**4},
        initial_state=[1.0],
    )
    with pytest.raises(ocp.ProblemError, match="not quadratic"):
        GaussNewton(quartic)


def test_a_learning_config_with_the_solver_exits_2_naming_why(tmp_path, capsys):
    config = yaml.safe_load(open("configs/annulus_l2.yaml"))
    config["solver"] = {**config.get("solver", {}), "name": "gauss_newton"}
    path = tmp_path / "annulus.yaml"
    path.write_text(yaml.safe_dump(config))
    code = main(["solve", str(path), "--out", str(tmp_path / "out")])
    assert code == 2
    assert "gauss_newton cannot solve this problem" in capsys.readouterr().err
