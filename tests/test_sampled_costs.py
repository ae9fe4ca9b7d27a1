"""Costs sampled at the shooting nodes (`ocp.SampledCost`): fitting observed trajectories.

Known answers: a linear system observed without noise gives back its matrix; a Van der Pol oscillator
observed with noise gives back its damping within three standard errors of the estimate; and the sampled
cost equals, at any parameters, the sum of the terminal costs of the same problem cut at each sample time.
"""

import casadi as ca
import numpy as np
import pytest
import scipy.linalg
from scipy.integrate import solve_ivp

import ocp
from ocp.errors import ProblemError

A_TRUE = np.array([[-0.1, 1.0], [-1.0, -0.3]])


def _linear_fit(times: np.ndarray, observed: np.ndarray, steps: int = 20) -> ocp.Solution:
    """x' = A x with A free (4 weights) and free initial states, least squares on the samples."""
    x, a, y = ca.SX.sym("x", 2), ca.SX.sym("a", 4), ca.SX.sym("y", 2)
    problem = ocp.Problem(
        state=x,
        control=ca.SX.sym("u", 0),
        dynamics=ca.mtimes(ca.reshape(a, 2, 2), x),
        horizon=ocp.Horizon.fixed(times[-1]),
        free_parameters=[ocp.FreeParameter(a)],
        sampled_costs={"fit": ocp.SampledCost(ca.sumsqr(x - y), y, observed)},
    )
    method = ocp.MultipleShooting(K=times.size - 1, grid=times / times[-1], integrator=ocp.RK4(steps))
    return ocp.OCPSolver(problem, method).solve()


def test_a_linear_system_observed_without_noise_gives_back_its_matrix_to_1e_6():
    """Two trajectories of x' = A x sampled at uneven times (one sample missing, one member's first sample
    missing too: its initial state is free and found from the rest); A to 1e-6 (RK4 x 20 per interval:
    the integration error is about 1e-8)."""
    times = np.array([0.0, 0.3, 0.5, 1.1, 1.6, 2.0, 3.0, 3.7])
    x0 = np.array([[1.0, 0.0], [0.0, 1.0]])
    observed = np.stack([[scipy.linalg.expm(A_TRUE * t) @ start for t in times] for start in x0])
    observed[1, 3] = np.nan
    observed[0, 0] = np.nan
    solution = _linear_fit(times, observed)
    assert solution.success
    A = np.reshape(solution.free_parameters["a"], (2, 2), order="F")
    assert np.max(np.abs(A - A_TRUE)) < 1e-6
    assert np.max(np.abs(solution.states[:, 0] - x0)) < 1e-6


def _van_der_pol(mu: float, omega2: float):
    return lambda t, z: [z[1], mu * (1 - z[0] ** 2) * z[1] - omega2 * z[0]]


def test_van_der_pol_damping_is_recovered_within_three_standard_errors():
    """x1' = x2, x2' = mu (1 - x1^2) x2 - w x1 with (mu, w) free, fitted to 3 trajectories of mu = 1.5,
    w = 1 observed with N(0, 0.02^2) noise. The standard error of mu comes from the Gauss-Newton covariance
    sigma^2 (J^T J)^-1 of the residuals, J by finite differences of free runs (scipy) in mu, w and the
    initial states."""
    rng = np.random.default_rng(3)
    mu, noise, times = 1.5, 0.02, np.linspace(0.0, 12.0, 81)
    starts = rng.uniform(-2.0, 2.0, size=(3, 2))
    clean = np.stack(
        [solve_ivp(_van_der_pol(mu, 1.0), (0, 12), s, t_eval=times, rtol=1e-11, atol=1e-12).y.T for s in starts]
    )
    observed = clean + noise * rng.normal(size=clean.shape)
    x, q, y = ca.SX.sym("x", 2), ca.SX.sym("q", 2), ca.SX.sym("y", 2)
    problem = ocp.Problem(
        state=x,
        control=ca.SX.sym("u", 0),
        dynamics=ca.vertcat(x[1], q[0] * (1 - x[0] ** 2) * x[1] - q[1] * x[0]),
        horizon=ocp.Horizon.fixed(12.0),
        free_parameters=[ocp.FreeParameter(q, guess=[1.0, 1.0])],
        sampled_costs={"fit": ocp.SampledCost(ca.sumsqr(x - y), y, observed)},
        aggregate="sum",
    )
    method = ocp.MultipleShooting(K=80, integrator=ocp.RK4(4))
    solution = ocp.OCPSolver(problem, method).solve(initial_guess=ocp.InitialGuess(states=observed))
    assert solution.success
    mu_hat, w_hat = solution.free_parameters["q"]
    fitted = np.concatenate([[mu_hat, w_hat], solution.states[:, 0].ravel()])

    def residuals(v):
        runs = [
            solve_ivp(_van_der_pol(v[0], v[1]), (0, 12), v[2 + 2 * b : 4 + 2 * b], t_eval=times, rtol=1e-10).y.T
            for b in range(3)
        ]
        return (np.stack(runs) - observed).ravel()

    J = np.column_stack([(residuals(fitted + e) - residuals(fitted - e)) / 2e-6 for e in 1e-6 * np.eye(fitted.size)])
    sigma2 = residuals(fitted) @ residuals(fitted) / (J.shape[0] - J.shape[1])
    standard_error = np.sqrt(sigma2 * np.linalg.inv(J.T @ J)[0, 0])
    assert abs(mu_hat - mu) < 3 * standard_error
    assert standard_error < 0.05  # the data pin mu down: the check above is not vacuous


def test_the_sampled_cost_equals_the_terminal_costs_of_the_problem_cut_at_each_sample():
    """At fixed weights theta of a small network, the sampled cost on a one-interval-per-sample grid equals
    the sum over the sample times t_j of the terminal cost of the same problem on [0, t_j] with j intervals
    (the same RK4 steps), both evaluated by the transcription (IPOPT with max_iter 0 at the simulated
    states)."""
    rng = np.random.default_rng(0)
    J, dt, N = 5, 0.4, 3
    x, theta, y = ca.SX.sym("x", 2), ca.SX.sym("theta", 10), ca.SX.sym("y", 2)
    W = ca.reshape(theta[:4], 2, 2)
    field = ca.tanh(ca.mtimes(W, x) + theta[4:6]) * theta[6:8] + theta[8:10]
    x0 = rng.normal(size=(N, 2))
    samples = rng.normal(size=(N, J + 1, 2))
    weights = rng.uniform(0.5, 2.0, size=(N, J + 1))
    values = rng.normal(size=10)
    evaluate = ocp.SolverOptions(max_iter=0, check_optimality=False, first_order_iterations=0)

    def cost_of(problem: ocp.Problem, K: int, name: str) -> float:
        method = ocp.MultipleShooting(K=K, integrator=ocp.RK4(3))
        states = ocp.simulate(problem, method, np.zeros((K, 0)), T=K * dt, parameters={"theta": values})
        solution = ocp.OCPSolver(problem, method, evaluate).solve(initial_guess=ocp.InitialGuess(states=states))
        return solution.costs[name]

    common = dict(state=x, control=ca.SX.sym("u", 0), dynamics=field, initial_state=x0, aggregate="sum")
    fixed = (ocp.Parameter(theta, values),)
    sampled = ocp.Problem(
        **common,
        horizon=ocp.Horizon.fixed(J * dt),
        parameters=fixed,
        sampled_costs={"fit": ocp.SampledCost(ca.sumsqr(x - y) * 1.0, y, samples, weights)},
    )
    total = 0.0
    for j in range(1, J + 1):
        w, d = ca.SX.sym("w"), ca.SX.sym("d", 2)
        cut = ocp.Problem(
            **common,
            horizon=ocp.Horizon.fixed(j * dt),
            parameters=fixed,
            terminal_costs={"at_t_j": w * ca.sumsqr(x - d)},
            ensemble_data=ocp.EnsembleData(ca.vertcat(w, d), np.column_stack([weights[:, j], samples[:, j]])),
        )
        total += cost_of(cut, j, "at_t_j")
    node_0 = np.sum(weights[:, 0] * np.sum((x0 - samples[:, 0]) ** 2, axis=1))  # x(0) is given: no solve needed
    assert cost_of(sampled, J, "fit") == pytest.approx(total + node_0, rel=1e-12)


def _problem_with(values, weights=None, K_nodes=4) -> ocp.Problem:
    x, y = ca.SX.sym("x", 1), ca.SX.sym("y", 1)
    return ocp.Problem(
        state=x,
        control=ca.SX.sym("u", 1),
        dynamics=x,
        initial_state=np.zeros((2, 1)),
        sampled_costs={"fit": ocp.SampledCost(ca.sumsqr(x - y), y, values, weights)},
    )


@pytest.mark.parametrize(
    ("values", "weights", "message"),
    [
        (np.zeros((3, 4, 1)), None, r"sampled_costs\['fit'\].values must have shape \(2, K \+ 1, 1\)"),
        (np.full((2, 4, 1), np.nan), np.ones((2, 4)), r"samples with a weight > 0 are not finite numbers"),
        (np.zeros((2, 4, 1)), -np.ones((2, 4)), r"weights must be finite and >= 0"),
        (np.zeros((2, 4, 1)), np.ones((2, 3)), r"weights must have shape \(2, 4\)"),
    ],
)
def test_bad_samples_are_refused_naming_the_cost(values, weights, message):
    with pytest.raises(ProblemError, match=message):
        _problem_with(values, weights)


def test_samples_on_another_number_of_nodes_than_the_grid_are_refused():
    message = r"sampled_costs\['fit'\] has samples at 4 nodes but the method has K \+ 1 = 6"
    with pytest.raises(ProblemError, match=message):
        ocp.OCPSolver(_problem_with(np.zeros((2, 4, 1))), ocp.MultipleShooting(K=5))
