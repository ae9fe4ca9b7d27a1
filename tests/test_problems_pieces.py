"""Data sets, network dynamics and losses of the learning problems."""

import casadi as ca
import numpy as np
import pytest

import ocp
from problems.learning.datasets import Dataset, annulus, load
from problems.learning.ensemble import Classifier, random_controls
from problems.learning.l2 import l2_problem
from problems.learning.networks import NetworkDynamics


def test_annulus_geometry_and_seed():
    data = annulus(300, dim=3, seed=7)
    radius = np.linalg.norm(data.x, axis=1)
    inner = data.y[:, 0] == -1
    assert inner.sum() == 100 and np.all(inner[:100])  # one third, inner points first
    assert radius[inner].max() <= 0.5 and radius[~inner].min() >= 1.0 and radius[~inner].max() <= 1.5
    np.testing.assert_array_equal(annulus(300, dim=3, seed=7).x, data.x)
    assert not np.array_equal(annulus(300, dim=3, seed=8).x, data.x)


def test_load_npz_and_csv(tmp_path):
    x, y = np.arange(12.0).reshape(6, 2), np.array([1, -1, 1, -1, 1, -1.0])
    np.savez(tmp_path / "d.npz", X=x, y=y)
    (tmp_path / "d.csv").write_text("\n".join(f"{a},{b},{c}" for (a, b), c in zip(x, y, strict=True)))
    for name in ("d.npz", "d.csv"):
        data = load(tmp_path / name)
        np.testing.assert_array_equal(data.x, x)
        np.testing.assert_array_equal(data.y[:, 0], y)
    with pytest.raises(FileNotFoundError, match="data file not found"):
        load(tmp_path / "missing.csv")


def test_inside_dynamics_layout_is_row_major():
    """u = [W00, W01, W10, W11, b0, b1] for x' = W tanh(x) + b (the benchmark instance's order)."""
    x, u = ca.SX.sym("x", 2), ca.SX.sym("u", 6)
    f = ca.Function("f", [x, u], [NetworkDynamics("inside", "tanh").rhs(x, u)])
    W, b, x0 = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.5]), np.array([0.3, -0.7])
    np.testing.assert_allclose(np.asarray(f(x0, np.r_[W.ravel(), b])).ravel(), W @ np.tanh(x0) + b)


@pytest.mark.parametrize("kind", ["inside", "outside", "bottleneck"])
def test_homogeneity_of_dynamics(kind):
    net = NetworkDynamics(kind, "tanh", width=3)
    x, u = ca.SX.sym("x", 2), ca.SX.sym("u", net.control_size(2))
    f = ca.Function("f", [x, u], [net.rhs(x, u)])
    rng = np.random.default_rng(0)
    x0, u0 = rng.normal(size=2), rng.normal(size=net.control_size(2))
    scaled, plain = np.asarray(f(x0, 2.5 * u0)).ravel(), 2.5 * np.asarray(f(x0, u0)).ravel()
    assert np.allclose(scaled, plain) == net.homogeneous
    if kind == "bottleneck":  # homogeneous in the outer layer (W2, b2) alone
        outer = np.r_[np.ones(3 * 2 + 3), np.full(2 * 3 + 2, 2.5)]
        np.testing.assert_allclose(np.asarray(f(x0, outer * u0)).ravel(), plain)


CASES = [
    (kind, act, loss)
    for kind in ("inside", "outside", "bottleneck")
    for act in ("tanh", "sigmoid", "softplus", "smooth_relu")
    for loss in ("squared", "logistic")
]


@pytest.mark.parametrize(("kind", "activation", "loss"), CASES)
def test_every_dynamics_activation_and_loss_trains(kind, activation, loss):
    data = Dataset(
        np.array([[0.2, 0.1], [-0.1, 0.3], [1.2, 0.4], [-1.1, -0.9], [0.3, -1.3]]),
        np.array([-1.0, -1.0, 1.0, 1.0, 1.0]),
    )
    output = "identity" if loss == "logistic" else "tanh"
    problem, symbols = l2_problem(
        data, NetworkDynamics(kind, activation, width=4), T=3.0, lam=1e-3, loss=loss, output=output
    )
    method = ocp.MultipleShooting(K=6)
    start = random_controls(6, problem.nu, 0.3, seed=1)
    sol = ocp.solve(problem, method, initial_guess=ocp.InitialGuess(controls=start))
    assert sol.success, sol.message
    from dataclasses import replace

    initial = Classifier(problem, method, replace(sol, controls=start), symbols, data.y.ravel()).loss(data)
    assert sol.costs["loss"] < 0.5 * initial
    assert sol.iterations < 500


def test_the_sweep_report_fits_the_stopping_time_against_lambda_and_compares_it_across_T(tmp_path):
    """Records with T* = 2 lambda^-0.5 (and T* > T where the controls never stop): the fit recovers the rate
    exactly from the points that stop before T, and each lambda's T* across the T that exceed it has range 0."""
    from problems.learning.sweep_report import sweep_report

    records = []
    for T in (5.0, 10.0, 100.0):
        for lam in (1e-3, 1e-2, 1e-1):
            stop = 2.0 * lam**-0.5  # 63.2, 20, 6.32
            record = {"T": T, "lambda": lam, "final_training_error": 0.1, "regularization": 0.01}
            record |= {"control_norm_max": 1.0, "error_at_stopping_time": 0.2}
            record["stopping_time"] = stop if stop < T else None
            records.append(record)
    result = sweep_report(records, ["lambda", "T"], tmp_path)
    fits = result["stopping_time_vs_lambda"]
    assert fits["T = 100"]["alpha"] == pytest.approx(0.5, rel=1e-9)  # all three stop before T = 100
    assert "T = 5" not in fits and "T = 10" not in fits  # none, or one point, stops before T: no fit
    across = result["stopping_time_across_T"][str(0.1)]
    assert across["T"] == [10.0, 100.0] and across["range"] == pytest.approx(0.0, abs=1e-12)
    assert (tmp_path / "stopping_time_vs_lambda.png").is_file()
