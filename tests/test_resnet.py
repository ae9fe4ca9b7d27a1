"""Problem C: the ResNet posed as a discrete OCP, its initialisations, and the O(1/L) increment claim."""

import json

import numpy as np
import pytest
import yaml
from scipy.special import erf

import ocp
from ocp.analysis import power_law
from ocp.cli import main
from ocp.solvers.gradient_flow import GradientFlow, GradientFlowOptions
from problems.learning.datasets import generate
from problems.resnet import ResNetShape, initial_weights, resnet_problem
from problems.resnet.report import distance_to_reference, max_increment


def gelu(z):
    return 0.5 * z * (1 + erf(z / np.sqrt(2)))


def test_the_ocp_is_the_resnet_written_by_hand():
    """Euler on K = L intervals of [0, 1] reproduces h_{k+1} = h_k + (1/L) V_{k+1} gelu(W_{k+1} h_k) (rel 1e-12),
    and the loss term is the mean squared error of the first coordinate."""
    data = generate("gaussian", 7, 3, seed=4)
    L, shape = 5, ResNetShape(3, 4)
    weights = np.random.default_rng(0).normal(size=(L, shape.nu))
    problem = resnet_problem(data, 4, "gelu")
    method = ocp.MultipleShooting(K=L, integrator=ocp.Euler())
    states = ocp.simulate(problem, method, weights, initial_states=data.x)
    h = data.x.copy()
    for k in range(L):
        V, W = shape.split(weights[k])
        h = h + (1 / L) * gelu(h @ W.T) @ V.T
    np.testing.assert_allclose(states[:, -1, :], h, rtol=1e-12, atol=1e-14)
    flow = GradientFlow(problem, method, GradientFlowOptions(iterations=0))
    sol = flow.solve(initial_guess=ocp.InitialGuess(controls=weights))
    assert sol.costs["loss"] == pytest.approx(np.mean((h[:, 0] - data.y[:, 0]) ** 2), rel=1e-12)


def test_initialisations():
    shape = ResNetShape(4, 6)
    smooth = initial_weights("smooth", 8, shape, seed=3)
    assert np.all(smooth[:, : 4 * 6] == 0)  # V_k = 0
    assert np.all(smooth == smooth[0]) and np.any(smooth[0] != 0)  # one W for every layer
    assert max_increment(smooth) == 0.0
    iid = initial_weights("iid", 8, shape, seed=3)
    assert np.all(np.linalg.norm(np.diff(iid, axis=0), axis=1) > 0.5)  # independent layers
    np.testing.assert_array_equal(iid, initial_weights("iid", 8, shape, seed=3))  # seeded


def increment_slope(init: str, depths=(4, 8, 16, 32), iterations: int = 20) -> float:
    data = generate("gaussian", 20, 4, seed=1)
    problem = resnet_problem(data, 8, "gelu")
    increments = []
    for L in depths:
        method = ocp.MultipleShooting(K=L, integrator=ocp.Euler())
        start = ocp.InitialGuess(controls=initial_weights(init, L, ResNetShape(4, 8), seed=1))
        flow = GradientFlow(problem, method, GradientFlowOptions(0.1, iterations, record_every=0))
        increments.append(max_increment(flow.solve(initial_guess=start).controls))
    return -power_law(depths, increments).alpha


def test_smooth_initialisation_keeps_increments_of_order_one_over_L_and_iid_does_not():
    """Marion et al.: from the smooth start max_k ||Z_{k+1} - Z_k||_F = O(1/L) along training (measured -0.99
    here); from iid weights the increments do not shrink with L (measured +0.07)."""
    smooth, iid = increment_slope("smooth"), increment_slope("iid")
    assert smooth == pytest.approx(-1.0, abs=0.1)
    assert iid > -0.3


def test_distance_to_reference_compares_layers_at_the_same_depth_fraction():
    reference = np.arange(8, dtype=float)[:, None] * np.ones((1, 2))  # layer j of 8 holds j
    s, distance = distance_to_reference(reference[1::2], reference)  # L = 4 holds layers 1, 3, 5, 7 of 8
    np.testing.assert_allclose(s, [0.125, 0.375, 0.625, 0.875])
    np.testing.assert_array_equal(distance, 0.0)  # the midpoint of layer k of 4 lies in layer 2k + 1 of 8
    _, shifted = distance_to_reference(reference[::2], reference)  # layers 0, 2, 4, 6: one off in 2 coordinates
    np.testing.assert_allclose(shifted, np.sqrt(2), rtol=1e-15)


def write(tmp_path, config: dict, name: str = "resnet.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return path


SMALL = {
    "problem": "resnet",
    "seed": 1,
    "T": 1.0,
    "K": 4,
    "integrator": "euler",
    "width": 6,
    "init": "smooth",
    "data": {"source": "gaussian", "n_train": 12, "n_test": 0, "dim": 3},
    "solver": "gradient_flow",
    "gradient_flow": {"learning_rate": 0.1, "iterations": 30, "record_every": 10},
}


def test_cli_trains_reports_and_compares_with_ipopt_from_the_endpoint(tmp_path):
    out = tmp_path / "one"
    assert main(["solve", str(write(tmp_path, {**SMALL, "compare_ipopt": True})), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "Iterations_Done" and summary["checkpoints"] == [0, 10, 20, 30]
    assert summary["max_increment"][0] == 0.0 and summary["max_increment"][-1] > 0
    assert len(summary["training"]["objective"]) == 31
    assert summary["ipopt_status"] == "Solve_Succeeded"
    assert summary["ipopt_objective"] <= summary["objective"]  # IPOPT's KKT point from the trained weights
    for figure in ("training_loss.png", "weights_vs_layer.png"):
        assert (out / figure).stat().st_size > 0


def test_resnet_needs_the_euler_step_and_says_so(tmp_path, capsys):
    code = main(["solve", str(write(tmp_path, {**SMALL, "integrator": "rk4"})), "--out", str(tmp_path / "x")])
    assert code == 2 and "'integrator': problem resnet is the ResNet" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_depth_sweep_fits_the_slope_of_its_points(tmp_path):
    config = {**SMALL, "sweep": {"grid": {"K": [2, 4, 8, 16]}, "warm_start": False}}
    out = tmp_path / "sweep"
    assert main(["sweep", str(write(tmp_path, config)), "--out", str(out), "--workers", "1"]) == 0
    summary = json.loads((out / "sweep.json").read_text())
    fit = summary["fits"]["increment_slope"]["smooth init"]
    points = sorted((json.loads(p.read_text()) for p in (out / "points").glob("p*.json")), key=lambda r: r["K"])
    L = [r["K"] for r in points]
    final = [r["max_increment"][-1] for r in points]
    assert fit["slope"] == pytest.approx(np.polyfit(np.log(L), np.log(final), 1)[0], rel=1e-9)
    assert fit["slope"] < -0.8  # smooth start, as in the unit test above
    assert (out / "max_increment_vs_L.png").is_file() and (out / "distance_to_deepest.png").is_file()
