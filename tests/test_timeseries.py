"""Problem ``timeseries``: a vector field fitted to observed trajectories, through the CLI and the pieces."""

import json
from dataclasses import replace

import casadi as ca
import numpy as np
import pytest
import yaml
from single_solve import SINGLE_SOLVE

from ocp.cli import main
from ocp.nlp.jacobian import block_jacobian
from ocp.nlp.transcription import transcribe
from ocp.run.solve import parse_config
from ocp.solvers.ipopt import nlp_parameters
from problems.timeseries.series import LINEAR_A, generate, write_csv


def config(tmp_path, **changes) -> str:
    text = {
        "problem": "timeseries",
        "integrator": "rk4",
        "steps": 4,
        "parallelization": "serial",
        "lambda": 0.0,
        "data": {"source": "linear", "members": 2, "samples": 40, "t_end": 6.0, "noise": 0.01},
        "model": {"kind": "linear"},
        **SINGLE_SOLVE,
    }
    for key, value in changes.items():
        text[key] = value if not isinstance(value, dict) else {**text.get(key, {}), **value}
    path = tmp_path / "series.yaml"
    path.write_text(yaml.safe_dump(text))
    return str(path)


def test_a_linear_model_fitted_through_the_cli_forecasts_at_the_noise_level(tmp_path):
    """The generated damped oscillator, observed with noise 0.01, fitted by x' = A x + b: the free run
    beyond the training window stays within 2x the noise, the learned field within 2 % of the true one
    at the samples, and the figures are written."""
    out = tmp_path / "out"
    assert main(["solve", config(tmp_path), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["success"] and summary["parameters"] == 6
    assert summary["samples_held_out"] == 2 * 2 * 10  # the last quarter of 40 samples, 2 states, 2 members
    assert summary["train_rmse"] < 0.02 and summary["forecast_rmse"] < 0.02
    assert summary["vector_field_error_relative"] < 0.02
    assert (out / "fit_and_forecast.png").stat().st_size > 0 and (out / "vector_field.png").stat().st_size > 0


def test_a_csv_file_with_uneven_members_is_read_and_fitted(tmp_path):
    """Two members of different lengths and a missing entry, written as CSV: the fit uses the union of their
    times as nodes and masks what was not observed."""
    series, _ = generate("linear", members=2, samples=30, t_end=5.0, noise=0.0, seed=1)
    short = replace(series.trajectories[1], t=series.trajectories[1].t[:20], x=series.trajectories[1].x[:20].copy())
    short.x[5, 0] = np.nan
    series = replace(series, trajectories=(series.trajectories[0], short))
    write_csv(series, tmp_path / "obs.csv")
    path = config(tmp_path, data={"source": "file", "path": str(tmp_path / "obs.csv"), "train_until": 5.0})
    out = tmp_path / "out"
    assert main(["solve", path, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["samples_train"] == 30 * 2 + 20 * 2 - 1
    assert summary["train_rmse"] < 1e-4  # noise-free data of a linear system, a linear model


def test_every_member_is_drawn_on_pages_that_name_them(tmp_path):
    """6 members: fit_and_forecast.png draws members 0-3 and fit_and_forecast_2.png members 4-5; the summary
    lists the pages."""
    out = tmp_path / "out"
    assert main(["solve", config(tmp_path, data={"members": 6, "samples": 20}), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["fit_and_forecast_pages"] == ["fit_and_forecast.png", "fit_and_forecast_2.png"]
    assert all((out / name).stat().st_size > 0 for name in summary["fit_and_forecast_pages"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"data": {"source": "file", "path": "/nonexistent/obs.csv"}}, "'data.path': data file not found"),
        ({"data": {"source": "file"}}, "'data.path' is required"),
        ({"data": {"train_until": -1.0}}, "'data.train_until' (-1.0) must lie after the first sample time"),
        ({"model": {"kind": "mlp", "widths": [0]}}, "'model.widths' must be positive integers"),
        ({"model": {"kind": "cubic"}}, "'model.kind' must be one of 'mlp', 'linear'"),
        ({"bands": {"level": 1.5}}, "'bands.level' must be < 1.0, got 1.5"),
        ({"data": {"members": 10**30}}, "'data.members' x 'data.samples' (10000000000000000000000000000"),
        ({"data": {"members": 10**8}}, "is more than the 1,000,000 samples a generated record may hold"),
    ],
)
def test_bad_input_exits_2_naming_the_field(tmp_path, capsys, changes, message):
    assert main(["solve", config(tmp_path, **changes), "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,member,x1\n0,0,1\n0,0,2\n", "member 0.0 has repeated times"),
        ("t,x1\n0,1\n1,2\n", "no 'time' column"),
        ("time,member,x1\n0,0,1,5\n1,0,2,6\n", "3 column names but 4 values per row"),
        ("", "the first line must name the columns"),
    ],
)
def test_a_broken_data_file_is_refused_naming_what_is_wrong(tmp_path, capsys, text, message):
    (tmp_path / "obs.csv").write_text(text)
    path = config(tmp_path, data={"source": "file", "path": str(tmp_path / "obs.csv")})
    assert main(["solve", path, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err


def test_the_block_jacobian_equals_finite_differences_where_casadis_own_did_not(tmp_path):
    """An MLP with 82 weights on a vectorized ensemble: CasADi's Jacobian of that graph was wrong in the
    columns of the biases (0.1 off, CasADi 3.8.2); the block Jacobian that IPOPT is now given matches
    central differences of the constraints to 1e-7 in every weight's column."""
    path = config(tmp_path, parallelization="vectorized", model={"kind": "mlp", "widths": [16]})
    run, settings, ptype = parse_config(yaml.safe_load(open(path)))
    setup = ptype.build(settings, run)
    nlp = transcribe(setup.problem, setup.run.discretisation())
    jacobian = block_jacobian(nlp)
    assert jacobian is not None
    g = ca.Function("g", [nlp.w, nlp.p], [nlp.g])
    w = np.random.default_rng(0).normal(size=nlp.w.numel()) * 0.3
    p = nlp_parameters(setup.problem, {}, setup.run.T, None)
    blocks = jacobian(w, p)[1].full()
    columns = np.concatenate([nlp.layout.free_parameters, nlp.layout.states[:2].ravel()])
    for column in columns:
        step = np.zeros_like(w)
        step[column] = 1e-6
        central = ((g(w + step, p) - g(w - step, p)) / 2e-6).full().ravel()
        assert np.max(np.abs(central - blocks[:, column])) < 1e-7, column


def test_generated_linear_data_follow_the_true_matrix():
    """The generator's noise-free samples are the matrix exponential's (the data the tests above fit)."""
    import scipy.linalg

    series, _ = generate("linear", members=1, samples=11, t_end=2.0, noise=0.0, seed=0)
    tr = series.trajectories[0]
    expected = np.array([scipy.linalg.expm(LINEAR_A * t) @ tr.x[0] for t in tr.t])
    assert np.max(np.abs(tr.x - expected)) < 1e-9


def _driven_records(tmp_path, members: int = 3, samples: int = 41, t_end: float = 8.0, irregular: bool = False):
    """x' = A x + B u with a known random input held between samples, sampled exactly (the matrix
    exponential of [A B; 0 0] over each sampling interval), written as CSV with the input column u;
    ``irregular``: each member at its own sorted uniform random times in [0, t_end] (the first at 0)."""
    import scipy.linalg

    from problems.timeseries.series import Series, Trajectory

    rng = np.random.default_rng(4)
    B = np.array([0.0, 1.0])
    M = np.zeros((3, 3))
    M[:2, :2], M[:2, 2] = LINEAR_A, B
    trajectories = []
    for _ in range(members):
        t = np.linspace(0.0, t_end, samples)
        if irregular:
            t = np.concatenate([[0.0], np.sort(rng.uniform(0.0, t_end, samples - 1))])
        u = rng.uniform(-1.0, 1.0, size=(samples, 1))
        x = [rng.uniform(-1.0, 1.0, size=2)]
        for k in range(samples - 1):
            x.append((scipy.linalg.expm(M * (t[k + 1] - t[k])) @ np.append(x[-1], u[k]))[:2])
        trajectories.append(Trajectory(t, np.array(x), u))
    write_csv(Series(tuple(trajectories), ("x1", "x2"), ("u",)), tmp_path / "driven.csv")
    return tmp_path / "driven.csv"


def test_known_inputs_from_a_file_are_fitted_and_forecast_exactly(tmp_path):
    """A driven linear system observed without noise, the input column declared with data.inputs: the
    linear model x' = A x + B u + b fits and forecasts (the held-out inputs are known) to 1e-4, where the
    error is RK4's (4 steps per interval of 0.2) and the scipy free run's. Declared as a state instead,
    the input cannot be fitted: the model has no way to know the next input."""
    path = _driven_records(tmp_path)
    out = tmp_path / "out"
    data = {"source": "file", "path": str(path), "inputs": ["u"]}
    assert main(["solve", config(tmp_path, data=data), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["inputs"] == 1 and summary["parameters"] == 2 * 3 + 2
    assert summary["train_rmse"] < 1e-4 and summary["forecast_rmse"] < 1e-4
    assert not (out / "vector_field.png").exists()  # with inputs the field is not one picture
    as_state = tmp_path / "as_state"
    assert main(["solve", config(tmp_path, data={"source": "file", "path": str(path)}), "--out", str(as_state)]) == 0
    assert json.loads((as_state / "summary.json").read_text())["train_rmse"] > 1e-2


def test_members_with_their_own_sample_times_get_their_own_nodes(tmp_path):
    """4 members of the driven system, each at 25 random times of its own, noise-free: on per-member grids
    (each member in its own time, x' = h f) every member has 25 nodes, not the union's 100, and the linear
    model fits and forecasts to 1e-4 as on the union grid, whose objective it matches to 1e-8 (RK4 at 16
    steps per interval: the longest gap, about 1.2, then takes steps of 0.08; at 4 steps per interval the
    per-member fit's train RMSE was 2.4e-3, RK4's error on the long gaps)."""
    path = _driven_records(tmp_path, members=4, samples=25, irregular=True)
    summaries = {}
    for grid in ("member", "union"):
        data = {"source": "file", "path": str(path), "inputs": ["u"], "grid": grid}
        out = tmp_path / grid
        assert main(["solve", config(tmp_path, data=data, steps=16), "--out", str(out)]) == 0
        summaries[grid] = json.loads((out / "summary.json").read_text())
    own, union = summaries["member"], summaries["union"]
    assert own["grid"].startswith("per member") and union["grid"] == "shared"
    train_samples = own["samples_train"] // 4
    assert own["nodes_per_member"] <= train_samples + 1 < union["nodes_per_member"]
    assert own["train_rmse"] < 1e-4 and own["forecast_rmse"] < 1e-4
    assert own["objective"] == pytest.approx(union["objective"], abs=1e-8)


def test_a_network_kind_of_the_learning_problems_is_recovered_as_a_constant_weight_model(tmp_path):
    """Data generated by x' = W tanh(x) + b with known constant weights (the learning problems' "inside"
    dynamics), noise-free: the fitted model of kind inside reproduces them to 1e-4 and its field matches."""
    from scipy.integrate import solve_ivp

    from problems.timeseries.series import Series, Trajectory

    W, b = np.array([[-0.3, 1.2], [-1.4, -0.2]]), np.array([0.1, -0.2])
    t = np.linspace(0.0, 6.0, 31)
    starts = [[1.0, 0.0], [-0.5, 1.5]]
    runs = [solve_ivp(lambda _, x: W @ np.tanh(x) + b, (0, 6), s, t_eval=t, rtol=1e-11, atol=1e-12).y.T for s in starts]
    write_csv(Series(tuple(Trajectory(t, x) for x in runs), ("x1", "x2")), tmp_path / "inside.csv")
    data = {"source": "file", "path": str(tmp_path / "inside.csv"), "train_until": 6.0}
    out = tmp_path / "out"
    path = config(tmp_path, data=data, model={"kind": "inside"}, normalize=False, steps=8)
    assert main(["solve", path, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parameters"] == 6 and summary["train_rmse"] < 1e-4
    theta = np.load(out / "solution.npz")["free_parameter__theta"]
    assert np.max(np.abs(theta - np.r_[W.ravel(), b])) < 1e-3  # row-major W, then b (`networks.py`)


def test_the_shipped_real_record_forecasts_better_than_holding_the_last_year(tmp_path):
    """configs/timeseries_lynx_hare.yaml (the Hudson's Bay Company's hare and lynx records, installed with
    the package): the forecast of 1916-1920 is under half the error of holding the 1915 counts."""
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[1] / "configs" / "timeseries_lynx_hare.yaml"
    out = tmp_path / "out"
    assert main(["solve", str(shipped), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["samples_train"] == 16 * 2 and summary["samples_held_out"] == 5 * 2
    assert summary["forecast_rmse"] < 0.5 * summary["forecast_rmse_last_value"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"data": {"inputs": ["u"]}}, "'data.inputs' names columns of a data file"),
        ({"model": {"kind": "outside"}, "data": {"source": "file", "inputs": ["u"]}}, "takes no inputs"),
        ({"data": {"source": "file", "inputs": ["v"]}}, "no input column 'v'"),
    ],
)
def test_bad_inputs_exit_2_naming_the_field(tmp_path, capsys, changes, message):
    path = _driven_records(tmp_path, members=1, samples=6)
    if changes["data"].get("source") == "file":
        changes["data"]["path"] = str(path)
    assert main(["solve", config(tmp_path, **changes), "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err


def test_one_config_key_fits_the_series_by_direct_collocation(tmp_path):
    """``method: {kind: collocation}``: the same fit as multiple shooting with the implicit method of the same
    points (the two discretisations have one optimum), at the noise level; a misspelt key is refused."""
    fits = {}
    for name, changes in {
        "collocation": {"method": {"kind": "collocation", "degree": 3}, "steps": 1},
        "shooting": {"integrator": "radau", "integrator_degree": 3, "steps": 1},
    }.items():
        out = tmp_path / name
        assert main(["solve", config(tmp_path, **changes), "--out", str(out)]) == 0
        fits[name] = json.loads((out / "summary.json").read_text())
    assert fits["collocation"]["success"] and fits["collocation"]["forecast_rmse"] < 0.02
    assert fits["collocation"]["objective"] == pytest.approx(fits["shooting"]["objective"], rel=1e-6)
    # the polynomials against an RK4 re-simulation (2 points: 2.4e-3, flagged; 3 points: below 1e-3)
    resolution = fits["collocation"]["stability"]
    assert resolution["reference"].startswith("rk4 x") and resolution["stable"] is True
    assert resolution["resimulated_difference"] < 1e-3
    bad = config(tmp_path, method={"kind": "colocation"})
    assert main(["solve", bad, "--out", str(tmp_path / "bad")]) == 2


def test_generated_members_at_random_times_each_get_their_own():
    """``data.times: random``: each member its own sorted times on [0, t_end], the first at 0, while the
    seeded initial states stay those of the evenly sampled record (the times have their own stream)."""
    even, _ = generate("van_der_pol", members=3, samples=20, t_end=5.0, noise=0.0, seed=1)
    spread, _ = generate("van_der_pol", members=3, samples=20, t_end=5.0, noise=0.0, seed=1, times="random")
    times = [tr.t for tr in spread.trajectories]
    assert all(t[0] == 0.0 and np.all(np.diff(t) > 0) and t[-1] <= 5.0 and t.size == 20 for t in times)
    assert not np.array_equal(times[0], times[1])
    np.testing.assert_allclose([tr.x[0] for tr in spread.trajectories], [tr.x[0] for tr in even.trajectories])
