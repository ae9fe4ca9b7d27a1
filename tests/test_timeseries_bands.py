"""Prediction bands of the time-series fit (`problems/timeseries/bands.py`): the sensitivities against finite
differences, the bands' coverage of the true trajectory over many seeds, and what the CLI writes."""

import json
from dataclasses import replace

import numpy as np
import pytest
import yaml
from single_solve import SINGLE_SOLVE

import ocp
from ocp.cli import main
from ocp.run.solve import parse_config
from problems.timeseries.bands import coverage, free_run_with_sensitivities, laplace, member_runs, sensitivity_field


def settings(seed: int = 0, **changes) -> dict:
    """The damped linear oscillator (2 members x 30 samples on [0, 6], noise 0.02) and the linear model."""
    data = {
        "problem": "timeseries",
        "seed": seed,
        "integrator": "rk4",
        "steps": 4,
        "parallelization": "serial",
        "lambda": 0.0,
        "data": {"source": "linear", "members": 2, "samples": 30, "t_end": 6.0, "noise": 0.02},
        "model": {"kind": "linear"},
        "solver": {"check_optimality": False},
        **SINGLE_SOLVE,
    }
    return data | changes


def fit(seed: int):
    run, parsed, ptype = parse_config(settings(seed))
    setup = ptype.build(parsed, run)
    solver = ocp.OCPSolver(setup.problem, setup.run.discretisation(), setup.run.solver.options())
    return setup.context, solver.solve(T=setup.run.T, initial_guess=setup.initial_guess)


def test_the_sensitivities_equal_central_differences_of_the_free_run():
    """An MLP 2-4-2 (22 weights) at random weights on the Van der Pol record: dz(t)/d(z0, theta) from the
    forward sensitivities matches central differences (step 1e-5) of the free run to 1e-6 at every sample."""
    changes = {"data": {"source": "van_der_pol", "members": 1, "samples": 20, "t_end": 4.0, "noise": 0.05}}
    run, parsed, ptype = parse_config(settings(model={"kind": "mlp", "widths": [4]}, **changes))
    ctx = ptype.build(parsed, run).context
    rng = np.random.default_rng(1)
    theta, z0 = 0.5 * rng.normal(size=ctx.model.size), np.array([0.3, -0.2])
    function, t = sensitivity_field(ctx), ctx.series.trajectories[0].t
    exact = free_run_with_sensitivities(ctx, function, theta, z0, 0, t).jacobian
    step, parameters = 1e-5, np.concatenate([z0, theta])
    for column in range(parameters.size):
        runs = []
        for sign in (1, -1):
            p = parameters.copy()
            p[column] += sign * step
            runs.append(free_run_with_sensitivities(ctx, function, p[2:], p[:2], 0, t).z)
        central = (runs[0] - runs[1]) / (2 * step)
        assert np.max(np.abs(central - exact[:, :, column])) < 1e-6, column


SEEDS = 40


def test_the_bands_cover_the_true_forecast_as_often_as_their_level_over_many_seeds():
    """40 seeds of the linear oscillator fitted by the linear model (lambda 0; 10 parameters, 92 observed
    entries): the seed is the unit, since the points of one seed share its fit. Each seed's coverage c_s of
    the noise-free held-out trajectory (28 entries) has mean `level` if the bands are calibrated and a
    variance at most level (1 - level) (the most a [0, 1] variable of that mean can have, reached if a
    seed's points were all covered or all missed together). So the mean over S seeds lies within
    3 sqrt(level (1 - level) / S) of the level (0.10 at 95 %, 0.22 at 68 %, S = 40) with probability 0.997
    or more. A seed whose fit did not reach the noise level (sigma above twice the noise: a local minimum
    of the single start, not a band) is left out; at most 2 may be. The noise estimate's mean over seeds
    is within 10 % of the true noise (each seed's sigma^2 has 82 degrees of freedom: about 3.4 % spread)."""
    coverages, sigmas, failed = {0.95: [], 0.68: []}, [], []
    for seed in range(SEEDS):
        ctx, solution = fit(seed)
        theta, z0 = np.asarray(solution.free_parameters["theta"]).ravel(), solution.states[:, 0]
        runs = member_runs(ctx, theta, z0, [])
        clean = replace(ctx.settings.data, noise=0.0).load(seed)[0]
        for level, covered in coverages.items():
            bands = laplace(ctx, theta, runs, level)
            sigma = bands.sigma * ctx.scaling.std
            if np.max(sigma) > 2 * 0.02:
                failed.append(seed)
                break
            covered.append(coverage(bands.member_bands(ctx, runs), "mean", clean, ctx.train_until))
        else:
            sigmas.append(sigma)
    assert len(failed) <= 2, failed
    for level, covered in coverages.items():
        tolerance = 3 * np.sqrt(level * (1 - level) / len(covered))
        assert abs(np.mean(covered) - level) < tolerance, (level, np.mean(covered), tolerance)
    assert np.mean(sigmas) == pytest.approx(0.02, rel=0.1)


def test_the_cli_writes_the_bands_and_their_coverage_and_a_null_level_turns_them_off(tmp_path):
    """summary.json's ``bands``: the level, the noise estimate per state (within 30 % of the 0.02 of the
    data on one seed), the coverages, and the effective parameters (10: lambda is 0 and G has full rank)."""
    path = tmp_path / "series.yaml"
    path.write_text(yaml.safe_dump(settings()))
    assert main(["solve", str(path), "--out", str(tmp_path / "on")]) == 0
    bands = json.loads((tmp_path / "on" / "summary.json").read_text())["bands"]
    assert bands["level"] == 0.95 and bands["effective_parameters"] == pytest.approx(10.0, abs=1e-6)
    assert all(0.014 < s < 0.026 for s in bands["sigma"])
    for key in ("held_out_coverage_observation", "held_out_coverage_noise_free_mean", "train_coverage_observation"):
        assert 0.0 <= bands[key] <= 1.0
    path.write_text(yaml.safe_dump(settings(bands={"level": None})))
    assert main(["solve", str(path), "--out", str(tmp_path / "off")]) == 0
    assert "bands" not in json.loads((tmp_path / "off" / "summary.json").read_text())
