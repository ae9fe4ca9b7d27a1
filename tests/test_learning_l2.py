"""Problem A1 on a small annulus set: it learns, and a longer horizon (more depth) helps."""

from dataclasses import replace

import numpy as np
import pytest

import ocp
from problems.learning.datasets import annulus
from problems.learning.ensemble import Classifier, random_controls, rescaled_guess
from problems.learning.l2 import l2_problem
from problems.learning.networks import NetworkDynamics

K, T_GRID = 10, (1.0, 3.0, 10.0)


@pytest.fixture(scope="module")
def data():
    return annulus(300, seed=0).split(200, seed=0)  # 100 training, 200 test points


@pytest.fixture(scope="module")
def solves(data):
    """One solve per T. IPOPT finds local minimisers, and a cold start at large T often
    lands in a worse one than at smaller T; so each T starts from the previous optimum
    rescaled to the new horizon (feasible and no worse for homogeneous dynamics)."""
    train, _ = data
    out, previous = {}, None
    for T in T_GRID:
        problem, symbols = l2_problem(train, NetworkDynamics("inside", "tanh"), T=T, lam=1e-3)
        method = ocp.MultipleShooting(K=K)
        if previous is None:
            guess = ocp.InitialGuess(controls=random_controls(K, problem.nu, 0.01, seed=0))
        else:
            guess = rescaled_guess(previous, T)
        previous = ocp.solve(problem, method, initial_guess=guess)
        out[T] = Classifier(problem, method, previous, symbols, classes=train.y.ravel())
    return out


def test_loss_drops_by_orders_of_magnitude_and_training_set_is_classified(data, solves):
    train, test = data
    clf = solves[10.0]
    assert clf.solution.success, clf.solution.message
    start = random_controls(K, clf.problem.nu, 0.01, seed=0)
    at_start = Classifier(clf.problem, clf.method, replace(clf.solution, controls=start), clf.symbols, clf.classes)
    initial_loss = at_start.loss(train)
    assert initial_loss > 0.5  # near u = 0 the classes are not separated
    assert clf.solution.costs["loss"] < 1e-3 * initial_loss
    assert clf.accuracy(train) == 1.0
    assert clf.accuracy(test) >= 0.9


def test_loss_and_objective_decrease_with_T(data, solves):
    train, _ = data
    assert all(solves[T].solution.success for T in T_GRID)
    losses = [solves[T].solution.costs["loss"] for T in T_GRID]
    objectives = [solves[T].solution.objective for T in T_GRID]
    assert losses[0] > losses[1] > losses[2]
    assert objectives[0] > objectives[1] > objectives[2]
    # The loss the solver reports is E(x(T)) recomputed by an independent forward simulation.
    assert solves[10.0].loss(train) == pytest.approx(losses[2], rel=1e-6)


def test_regularisation_is_lambda_h_sum_of_squares(solves):
    sol = solves[3.0].solution
    h = sol.T / sol.K
    assert sol.costs["regularization"] == pytest.approx(1e-3 * h * np.sum(sol.controls**2), rel=1e-10)


def test_training_error_along_the_flow_ends_at_the_loss(solves):
    clf = solves[10.0]
    error = clf.loss_along_trajectory()
    assert error.shape == (K + 1,)
    assert error[-1] == pytest.approx(clf.solution.costs["loss"], rel=1e-8)
    assert error[0] > 100 * error[-1]


def test_euler_transcription_is_exactly_a_resnet():
    """`integrator: euler` poses the discrete network: K residual blocks x_{k+1} = x_k + h (W_k tanh(x_k) + b_k).

    Independent check: the solved controls pushed through that ResNet written in numpy give the
    solution's states (to IPOPT's constraint tolerance) and its loss, (1/N) sum (tanh(x_1(T)) - y)^2."""
    train = annulus(40, seed=1)
    K, T = 6, 2.0
    problem, _ = l2_problem(train, NetworkDynamics("inside", "tanh"), T=T, lam=1e-3)
    guess = ocp.InitialGuess(controls=random_controls(K, problem.nu, 0.3, seed=1))
    sol = ocp.solve(problem, ocp.MultipleShooting(K=K, integrator=ocp.Euler()), initial_guess=guess)
    assert sol.success

    h, x = T / K, train.x.copy()
    for W_and_b in sol.controls:
        W, b = W_and_b[:4].reshape(2, 2), W_and_b[4:]  # u = (W row-major, b)
        x = x + h * (np.tanh(x) @ W.T + b)
    np.testing.assert_allclose(sol.states[:, -1, :], x, atol=1e-7)
    loss = np.mean((np.tanh(x[:, 0]) - train.y.ravel()) ** 2)
    assert sol.costs["loss"] == pytest.approx(loss, rel=1e-7)
