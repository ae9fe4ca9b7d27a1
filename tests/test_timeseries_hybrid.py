"""Hybrid time-series models x' = known(x, u, p) + NN(x): the formula parser, parameter estimation, the
damped pendulum's friction learned by a network, and the config's bad inputs."""

import json
from pathlib import Path

import casadi as ca
import numpy as np
import pytest
import yaml
from test_timeseries import _driven_records, config

from ocp.cli import main
from ocp.errors import ConfigError
from problems.timeseries.expressions import parse
from problems.timeseries.series import PENDULUM_FRICTION, PENDULUM_G_OVER_L

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
GRAVITY = ["omega", "-g_over_L*sin(theta)"]  # the pendulum's known part: no friction


def _solve(tmp_path, name: str, **changes) -> dict:
    out = tmp_path / name
    assert main(["solve", config(tmp_path, **changes), "--out", str(out)]) == 0
    return json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-x**2 + 3*sin(y)/2", lambda x, y: -(x**2) + 3 * np.sin(y) / 2),
        ("atan2(y, x) + pi", lambda x, y: np.arctan2(y, x) + np.pi),
        (
            "exp(-abs(x)) * sqrt(1 + y**2) - log(2 + cos(x))",
            lambda x, y: np.exp(-abs(x)) * np.sqrt(1 + y**2) - np.log(2 + np.cos(x)),
        ),
        ("max(x, y) - min(x, 0.5) + tanh(x - y)", lambda x, y: np.maximum(x, y) - np.minimum(x, 0.5) + np.tanh(x - y)),
        ("2**-1 * x / (1 + y*y) - -x", lambda x, y: 0.5 * x / (1 + y * y) + x),
        ("1.5e-1", lambda x, y: 0.15 + 0 * x),
    ],
)
def test_a_parsed_formula_evaluates_as_numpy_does(text, expected):
    """Each formula, turned into CasADi, equals numpy's value of the same formula at 50 random points to 1e-12."""
    x, y = ca.SX.sym("x"), ca.SX.sym("y")
    f = ca.Function("f", [x, y], [parse(text, {"x": x, "y": y}, "model.known[0]")])
    points = np.random.default_rng(0).uniform(-2.0, 2.0, size=(50, 2))
    values = np.array([float(f(*p)) for p in points])
    assert np.max(np.abs(values - expected(points[:, 0], points[:, 1]))) < 1e-12


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("omega * x", "'model.known[1]': unknown name 'omega' (known: x, y, pi)"),
        ("sine(x)", "'model.known[1]': unknown function 'sine'"),
        ("x ^ 2", "not allowed (use ** for a power)"),
        ("sin(x", "'model.known[1]': 'sin(x' is not a formula"),
        ("sin(x, y)", "sin() takes 1 positional argument"),
        ("x.real", "'x.real' is not allowed"),
        ("__import__('os').system('true')", '.system" is not a function name'),
        ("x if y else 1", "is not allowed"),
        ("'text'", "'text' is not a number"),
        ("sin", "unknown name 'sin' (a function: call it)"),
        ("", "expected a formula"),
    ],
)
def test_a_bad_formula_is_refused_naming_the_field(text, message):
    x, y = ca.SX.sym("x"), ca.SX.sym("y")
    with pytest.raises(ConfigError) as refused:
        parse(text, {"x": x, "y": y}, "model.known[1]")
    assert message in str(refused.value)


def test_the_pendulums_constants_are_estimated_exactly_from_noise_free_samples(tmp_path):
    """``kind: none``: the pendulum theta'' = -(g/L) sin(theta) - c theta' with both constants fitted, started at
    g/L = 5 and c = 0, from 2 noise-free members of 50 samples: both are recovered to 1e-6. The error left is
    RK4's: with 4, 8 and 16 steps per sampling interval (0.2 s) g/L came out 8.8e-5, 5.5e-6 and 3.4e-7 off
    (16x per halving, RK4's order 4) and c 1.3e-6, 2.0e-7 and 1.6e-8."""
    model = {
        "kind": "none",
        "known": ["omega", "-g_over_L*sin(theta) - c*omega"],
        "parameters": {"g_over_L": {"value": 5.0, "fit": True}, "c": {"value": 0.0, "fit": True}},
    }
    data = {"source": "pendulum", "samples": 50, "t_end": 10.0, "noise": 0.0}
    summary = _solve(tmp_path, "out", data=data, model=model, steps=16, solver={"tol": 1e-10})
    fitted = summary["fitted_parameters"]
    assert summary["parameters"] == 2 and summary["known"] == model["known"]
    assert abs(fitted["g_over_L"] - PENDULUM_G_OVER_L) < 1e-6 and abs(fitted["c"] - PENDULUM_FRICTION) < 1e-6
    assert summary["forecast_rmse"] < 1e-5 and summary["vector_field_error_relative"] < 1e-6


def test_a_known_input_enters_the_known_part_in_the_datas_units(tmp_path):
    """The driven linear system x' = A x + B u from a file, A known, the input's gain b fitted (true 1): the
    input is standardised for the fit (its mean and spread are not 0 and 1), so b comes back to 2e-5 only if
    the known part reads u in the data's units (measured: 3.9e-6 off, RK4's error at 4 steps per interval of
    0.2; with the known part reading the standardised input instead, b came back as 0.49)."""
    path = _driven_records(tmp_path, members=1)
    model = {
        "kind": "none",
        "known": ["-0.1*x1 + 2*x2", "-2*x1 - 0.1*x2 + b*u"],
        "parameters": {"b": {"value": 0.3, "fit": True}},
    }
    summary = _solve(tmp_path, "out", data={"source": "file", "path": str(path), "inputs": ["u"]}, model=model)
    assert abs(summary["fitted_parameters"]["b"] - 1.0) < 2e-5
    assert summary["forecast_rmse"] < 1e-4


def test_the_hybrid_pendulum_forecasts_better_than_the_network_alone(tmp_path):
    """The issue's test, on configs/timeseries_hybrid_pendulum.yaml: the pendulum with friction, 2 members observed
    for 4 s (20 samples each, noise 0.01), forecast for the next 6 s. The hybrid knows the gravity term (g/L =
    9.81) and an MLP 2-8-2 learns the rest (the friction); the pure model is the same MLP alone. The hybrid
    forecasts at the noise level, the MLP at several times it. Measured (seed 0 here; seeds 0-3 were looked at
    while choosing the setup, 4-7 only checked): hybrid 0.0112-0.0183, MLP 0.0357-0.236, their ratio 0.15 at
    seed 0 and at most 0.51 (seed 3)."""
    shipped = yaml.safe_load((CONFIGS / "timeseries_hybrid_pendulum.yaml").read_text())
    summaries = {}
    for name, model in {"hybrid": shipped["model"], "mlp": {"kind": "mlp", "widths": [8]}}.items():
        path, out = tmp_path / f"{name}.yaml", tmp_path / name
        path.write_text(yaml.safe_dump({**shipped, "model": model}))
        assert main(["solve", str(path), "--out", str(out)]) == 0
        summaries[name] = json.loads((out / "summary.json").read_text())
    hybrid, network = summaries["hybrid"], summaries["mlp"]
    assert hybrid["parameters"] == network["parameters"] == 42 and "fitted_parameters" not in hybrid
    assert hybrid["forecast_rmse"] < 2 * shipped["data"]["noise"]
    assert hybrid["forecast_rmse"] < 0.5 * network["forecast_rmse"]


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"kind": "mlp", "known": ["omega"]}, "'model.known' has 1 formulas for 2 states (theta, omega)"),
        ({"known": ["omega", "-k*sin(theta)"]}, "'model.known[1]': unknown name 'k' (known: theta, omega, pi)"),
        ({"known": ["omega", "-9.81*sin(theta"]}, "'model.known[1]': '-9.81*sin(theta' is not a formula"),
        ({"known": ["omega", [1]]}, "'model.known[1]'"),
        ({"kind": "none"}, "'model.kind': none (no network) needs a known model in 'model.known'"),
        ({"parameters": {"g": 1.0}}, "'model.parameters' are the parameters of 'model.known'"),
        ({"known": GRAVITY, "parameters": {"g_over_L": "9.81"}}, "'model.parameters.g_over_L' must be a number"),
        (
            {"known": GRAVITY, "parameters": {"g_over_L": {"value": 9.8, "fitted": True}}},
            "unknown key 'model.parameters.g_over_L.fitted'",
        ),
        (
            {"known": GRAVITY, "parameters": {"g_over_L": {"value": 9.8, "fit": "yes"}}},
            "'model.parameters.g_over_L.fit' must be true or false",
        ),
        (
            {"known": GRAVITY, "parameters": {"g_over_L": {"fit": True}}},
            "missing required key 'model.parameters.g_over_L.value'",
        ),
        ({"known": GRAVITY, "parameters": {"g_over_L": float("nan")}}, "'model.parameters.g_over_L' must be a finite"),
        (
            {"known": GRAVITY, "parameters": {"g_over_L": {"value": float("inf"), "fit": True}}},
            "'model.parameters.g_over_L.value' must be a finite number",
        ),
        ({"known": GRAVITY, "parameters": {"g_over_L": 9.8, "k": 1.0}}, "'model.parameters.k' appears in no formula"),
        ({"known": ["omega", "-theta"], "parameters": {"theta": 1.0}}, "'model.parameters.theta': the name of a state"),
    ],
)
def test_bad_hybrid_settings_exit_2_naming_the_field(tmp_path, capsys, model, message):
    data = {"source": "pendulum", "samples": 10}
    assert main(["solve", config(tmp_path, data=data, model=model), "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
