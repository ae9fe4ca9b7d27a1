"""Known inputs u(t) given per member as data (`ocp.EnsembleData(per_interval=True)`).

Known answers: a linear system driven by known, piecewise-constant inputs and observed without noise gives
back its matrices A and B (the samples are the exact zero-order-hold solution, by the matrix exponential);
per-interval data that repeat one value equal constant data; a simulation under per-interval inputs
equals the exact solution.
"""

import casadi as ca
import numpy as np
import pytest
import scipy.linalg

import ocp
from ocp.errors import ProblemError

A_TRUE = np.array([[-0.2, 1.0], [-1.0, -0.1]])
B_TRUE = np.array([0.0, 1.5])


def _exact(x0: np.ndarray, inputs: np.ndarray, times: np.ndarray) -> np.ndarray:
    """x' = A x + B u with u held at inputs[k] on [t_k, t_k+1]: the states at the times (matrix exponential of
    the augmented system [A B; 0 0])."""
    out = [x0]
    for k, u in enumerate(inputs):
        M = np.zeros((3, 3))
        M[:2, :2], M[:2, 2] = A_TRUE, B_TRUE
        z = scipy.linalg.expm(M * (times[k + 1] - times[k])) @ np.append(out[-1], u)
        out.append(z[:2])
    return np.array(out)


def _inputs_problem(observed: np.ndarray, inputs: np.ndarray, horizon: float) -> ocp.Problem:
    x, u, theta, y = ca.SX.sym("x", 2), ca.SX.sym("u_known"), ca.SX.sym("theta", 6), ca.SX.sym("y", 2)
    A, B = ca.reshape(theta[:4], 2, 2), theta[4:]
    return ocp.Problem(
        state=x,
        control=ca.SX.sym("v", 0),
        dynamics=ca.mtimes(A, x) + B * u,
        horizon=ocp.Horizon.fixed(horizon),
        free_parameters=[ocp.FreeParameter(theta)],
        ensemble_data=ocp.EnsembleData(u, inputs[:, :, None], per_interval=True),
        sampled_costs={"fit": ocp.SampledCost(ca.sumsqr(x - y), y, observed)},
    )


def _records(rng: np.random.Generator, times: np.ndarray, members: int):
    inputs = rng.uniform(-1.0, 1.0, size=(members, times.size - 1))
    starts = rng.uniform(-1.0, 1.0, size=(members, 2))
    observed = np.stack([_exact(s, u, times) for s, u in zip(starts, inputs, strict=True)])
    return inputs, starts, observed


def test_a_driven_linear_system_gives_back_a_and_b_to_1e_6():
    """Three members, each with its own random input sequence, sampled at uneven times; RK4 x 20 per
    interval (integration error about 1e-9, under the tolerance)."""
    rng = np.random.default_rng(0)
    times = np.cumsum(np.r_[0.0, rng.uniform(0.2, 0.5, size=14)])
    inputs, starts, observed = _records(rng, times, members=3)
    problem = _inputs_problem(observed, inputs, times[-1])
    method = ocp.MultipleShooting(K=times.size - 1, grid=times / times[-1], integrator=ocp.RK4(20))
    solution = ocp.OCPSolver(problem, method).solve(initial_guess=ocp.InitialGuess(states=observed))
    assert solution.success
    theta = np.asarray(solution.free_parameters["theta"])
    assert np.max(np.abs(theta[:4].reshape(2, 2, order="F") - A_TRUE)) < 1e-6
    assert np.max(np.abs(theta[4:] - B_TRUE)) < 1e-6
    assert np.max(np.abs(solution.states[:, 0] - starts)) < 1e-6


def test_the_inputs_move_the_fit():
    """Without the inputs (all zero), the same records cannot be fitted: started at the true A and B and the
    samples, IPOPT ends at a local minimum whose objective is far from zero (measured 2.08; asserted above
    1e-3). This is what makes the previous test's recovery depend on the inputs reaching the dynamics. (From
    zero weights, the default, the solve wandered through NaN trial points for about a minute.)"""
    rng = np.random.default_rng(0)
    times = np.cumsum(np.r_[0.0, rng.uniform(0.2, 0.5, size=14)])
    inputs, _, observed = _records(rng, times, members=3)
    problem = _inputs_problem(observed, np.zeros_like(inputs), times[-1])
    method = ocp.MultipleShooting(K=times.size - 1, grid=times / times[-1], integrator=ocp.RK4(20))
    truth = {"theta": np.r_[A_TRUE.ravel(order="F"), B_TRUE]}
    solution = ocp.OCPSolver(problem, method).solve(
        initial_guess=ocp.InitialGuess(states=observed, free_parameters=truth)
    )
    assert solution.success and solution.objective > 1e-3


def test_simulation_under_known_inputs_equals_the_exact_solution():
    """RK4 x 20 on intervals of 0.3 (steps of 0.015): the integration error is about 1e-9."""
    rng = np.random.default_rng(1)
    times = np.linspace(0.0, 3.0, 11)
    inputs, starts, observed = _records(rng, times, members=2)
    problem = _inputs_problem(observed, inputs, times[-1])
    method = ocp.MultipleShooting(K=10, integrator=ocp.RK4(20))
    theta = np.r_[A_TRUE.ravel(order="F"), B_TRUE]
    states = ocp.simulate(problem, method, np.zeros((10, 0)), initial_states=starts, parameters={"theta": theta})
    assert np.max(np.abs(states - observed)) < 1e-8


def test_per_interval_data_repeating_one_value_equal_constant_data():
    """The same problem with u = c as constant data and as per-interval data: the same objective (1e-12)."""
    rng = np.random.default_rng(2)
    times = np.linspace(0.0, 2.0, 9)
    inputs = np.full((2, 8), 0.7)
    starts = rng.uniform(-1.0, 1.0, size=(2, 2))
    observed = np.stack([_exact(s, u, times) for s, u in zip(starts, inputs, strict=True)]) + 0.01
    per_interval = _inputs_problem(observed, inputs, times[-1])
    constant = ocp.Problem(
        **{
            **{f: getattr(per_interval, f) for f in ("state", "control", "dynamics", "horizon", "free_parameters")},
            "sampled_costs": per_interval.sampled_costs,
            "ensemble_data": ocp.EnsembleData(per_interval.data_symbol, np.full((2, 1), 0.7)),
        }
    )
    method = ocp.MultipleShooting(K=8, integrator=ocp.RK4(2))
    guess = ocp.InitialGuess(states=observed, free_parameters={"theta": np.r_[A_TRUE.ravel(order="F"), B_TRUE]})
    options = ocp.SolverOptions(max_iter=0, check_optimality=False)
    values = [ocp.OCPSolver(p, method, options).solve(initial_guess=guess).objective for p in (per_interval, constant)]
    assert values[0] == pytest.approx(values[1], rel=1e-12, abs=1e-15)
    assert values[0] > 1e-6  # the offset makes the objective nonzero: the comparison is not of two zeros


def test_bad_per_interval_data_are_refused():
    x, u = ca.SX.sym("x"), ca.SX.sym("u")

    def problem(values):
        return ocp.Problem(
            state=x,
            control=ca.SX.sym("v", 0),
            dynamics=-x + u,
            horizon=ocp.Horizon.fixed(1.0),
            initial_state=np.zeros((2, 1)),
            ensemble_data=ocp.EnsembleData(u, values, per_interval=True),
        )

    with pytest.raises(ProblemError, match=r"per-interval ensemble_data.values must have shape \(2, K, 1\)"):
        problem(np.zeros((2, 5)))
    with pytest.raises(ProblemError, match="finite"):
        problem(np.full((2, 5, 1), np.nan))
    with pytest.raises(ProblemError, match="per-interval ensemble_data has 5 intervals but the method has K = 4"):
        ocp.OCPSolver(problem(np.zeros((2, 5, 1))), ocp.MultipleShooting(K=4)).solve()
