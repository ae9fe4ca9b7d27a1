"""The command line: config validation (exit 2, the field named, nothing written) and a full small run."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from ocp.cli import main
from ocp.run.solve import parse_config

SMALL = {
    "problem": "l2",
    "seed": 1,
    "T": 4.0,
    "K": 6,
    "lambda": 1.0e-3,
    "data": {"source": "annulus", "n_train": 30, "n_test": 20},
    "dynamics": {"kind": "inside", "activation": "tanh"},
    "solver": {"max_iter": 500},
}


def write(tmp_path: Path, config: dict, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return path


def with_changes(**changes) -> dict:
    config = json.loads(json.dumps(SMALL))
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        node = config
        for p in parents:
            node = node.setdefault(p, {})
        if value is DELETE:
            node.pop(key)
        else:
            node[key] = value
    return config


DELETE = object()

BAD_CONFIGS = [
    (with_changes(epochs=3), "unknown key 'epochs'"),
    (with_changes(data__radius=2), "unknown key 'data.radius'"),
    (with_changes(K="twenty"), "'K' must be an integer"),
    (with_changes(T=-1.0), "'T' must be > 0"),
    (with_changes(T=0), "'T' must be > 0"),
    (with_changes(K=0), "'K' must be >= 1"),
    (with_changes(**{"lambda": -0.1}), "'lambda' must be >= 0.0"),
    (with_changes(dynamics__kind="sideways"), "'dynamics.kind' must be one of 'inside', 'outside', 'bottleneck'"),
    (with_changes(dynamics__activation="swish"), "'dynamics.activation' must be one of 'tanh'"),
    (with_changes(integrator="rk5"), "'integrator' must be one of 'euler', 'midpoint', 'rk4'"),
    (with_changes(data={"source": "file", "path": "no/such/file.npz"}), "'data.path': data file not found"),
    (with_changes(solver__verbose="yes"), "'solver.verbose' must be true or false"),
    (
        with_changes(problem="l7"),
        "'problem': unknown problem type 'l7'; registered types: l1, l2, resnet, timeseries, turnpike",
    ),
    (with_changes(problem=DELETE), "missing required key 'problem'"),
    (with_changes(multistart__starts=0), "'multistart.starts' must be >= 1"),
    (with_changes(initialization__strategy="annealing"), "'initialization.strategy' must be one of 'first_order'"),
    (with_changes(data={"source": "xor", "dim": 3}), "'data': data set 'xor' is planar"),
    (with_changes(multistart__extra_strategies=["simulate", "tabu"]), "'multistart.extra_strategies[1]' must be one"),
    (with_changes(multistart__extra_strategies="simulate"), "'multistart.extra_strategies' must be a list"),
    (with_changes(multistart__max_iter=0), "'multistart.max_iter' must be >= 1"),
    (with_changes(multistart__patience=0.5), "'multistart.patience' must be >= 1.0"),
    (with_changes(multistart__confidence=1.0), "'multistart.confidence' must be < 1.0"),
    (with_changes(multistart__confidence="high"), "'multistart.confidence' must be a number"),
    (with_changes(multistart__hops=0.5), "'multistart.hops' must be true or false"),
    (with_changes(multistart__hop_scale=0.0), "'multistart.hop_scale' must be > 0"),
    (with_changes(multistart__max_searches=0), "'multistart.max_searches' must be >= 1"),
    (with_changes(multistart__effort="exhaustive"), "'multistart.effort' must be one of"),
    (with_changes(multistart__coverage=0.0), "'multistart.coverage' must be > 0"),
    (with_changes(multistart__time_budget=0), "'multistart.time_budget' must be > 0"),
    (with_changes(initialization__learning_rate=0.0), "'initialization.learning_rate' must be > 0"),
    (with_changes(problem="turnpike", fit_window=[0.8, 0.2]), "'fit_window' must be two fractions"),
    (with_changes(problem="l1", bound=-1.0), "'bound' must be >= 0.0"),
    (with_changes(problem="l1", tracking_weight=1.0), "unknown key 'tracking_weight'"),
    (with_changes(initialization__factor=1.0), "initialization factor must be > 1"),
    (with_changes(solver="adam"), "'solver.name' must be one of 'ipopt', 'gradient_flow'"),
    (with_changes(solver="gradient_flow", gradient_flow={"learning_rate": 0.0}), "'gradient_flow.learning_rate' must"),
    (with_changes(gradient_flow={"steps": 10}), "unknown key 'gradient_flow.steps'"),
    (with_changes(dynamics__widths=[2, 4]), "'dynamics.widths' needs kind 'spacetime', got kind 'inside'"),
    (
        with_changes(dynamics={"kind": "spacetime", "width": 4, "widths": [2, 4]}),
        "give 'width' (fixed) or 'widths' (a schedule), not both",
    ),
    (with_changes(dynamics={"kind": "spacetime", "widths": [2] * 7}), "'dynamics.widths' needs 1 to K = 6 entries"),
    (
        with_changes(dynamics={"kind": "spacetime", "widths": [1, 2], "quadrature": "trapezoid"}),
        "'dynamics': quadrature 'trapezoid' needs 2 or more nodes, got 1",
    ),
    (with_changes(dynamics={"kind": "spacetime", "widths": 4}), "'dynamics.widths' must be a list"),
    (
        with_changes(sweep={"grid": {"T": [1, 2]}}),
        "this is a sweep config (it has 'sweep:' or 'base:'): run `ocp sweep",
    ),
]


@pytest.mark.parametrize(("config", "message"), BAD_CONFIGS, ids=[m for _, m in BAD_CONFIGS])
def test_bad_config_exits_2_naming_the_field_and_writes_nothing(tmp_path, capsys, config, message):
    out = tmp_path / "out"
    code = main(["solve", str(write(tmp_path, config)), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_missing_config_file(tmp_path, capsys):
    assert main(["solve", str(tmp_path / "absent.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_solve_writes_solution_summary_and_plots(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["solve", str(write(tmp_path, SMALL)), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "status",
        "success",
        "objective",
        "loss",
        "regularization",
        "iterations",
        "build_time_s",
        "solve_time_s",
        "T",
        "lambda",
        "K",
        "N",
        "train_accuracy",
        "test_accuracy",
        "second_order_ok",
        "first_order_gap",
    ):
        assert key in summary, key
    assert summary["second_order_ok"] is True and abs(summary["first_order_gap"]) <= 1e-6
    assert summary["success"] is True and summary["N"] == 30 and summary["K"] == 6 and summary["lambda"] == 1e-3
    assert summary["objective"] == pytest.approx(summary["loss"] + summary["regularization"], rel=1e-10)
    with np.load(out / "solution.npz") as raw:
        assert raw["states"].shape == (30, 7, 2) and raw["controls"].shape == (6, 6)
    for png in ("trajectories.png", "control_norm.png", "training_error.png", "decision_regions.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    assert "Solve_Succeeded" in capsys.readouterr().out


def test_the_default_search_reports_what_it_covers_and_keeps_the_best(tmp_path, capsys):
    """The default effort: 23 random draws with first_order, simulate or adam drawn at random, the configured
    start, the continuation in lambda, hops and more starts as extras (a quarter of the local searches);
    summary.json says what the draws vouch for, and the command line says it in words."""
    config = with_changes(multistart={"workers": 2}, data__source="spirals")
    out = tmp_path / "ms"
    assert main(["solve", str(write(tmp_path, config)), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    report = summary["start"]["multistart"]
    assert report["effort"] == "default" and report["strategies"] == ["first_order", "simulate", "adam"]
    solves = report["solves"]
    assert (solves[0]["role"], solves[0]["strategy"]) == ("guess", "first_order")
    assert report["draws"] == sum(s["role"] == "draw" for s in solves) == 23
    assert {s["strategy"] for s in solves if s["role"] == "draw"} == {"first_order", "simulate", "adam"}
    assert any(s["strategy"] == "continuation_parameter" for s in solves)
    assert report["unseen_basin_mass"] == pytest.approx(1 - 0.05 ** (1 / 23), rel=1e-12)
    assert report["unseen_basin_confidence"] == 0.95 and report["stop_reason"] == "coverage target reached"
    assert 0.0 <= report["good_turing_unseen_mass"] <= 1.0
    assert (
        summary["objective"]
        == report["best"]
        == min(f for f, ok in zip(report["objectives"], report["succeeded"], strict=True) if ok)
    )
    assert (out / "landscape.png").is_file()
    printed = capsys.readouterr().out
    assert "23 random draws" in printed and "starts were not covered" in printed


def test_the_effort_is_set_on_the_command_line_and_the_portfolio_stays_selectable(tmp_path, capsys):
    config = with_changes(
        multistart={"starts": 2, "workers": 2, "extra_strategies": ["simulate", "first_order", "adam"]},
        initialization={"iterations": 40},
    )
    out = tmp_path / "portfolio"
    assert main(["solve", str(write(tmp_path, config)), "--out", str(out), "--effort", "portfolio"]) == 0
    report = json.loads((out / "summary.json").read_text())["start"]["multistart"]
    assert report["strategies"] == ["first_order", "simulate", "adam"] and len(report["objectives"]) == 7
    assert [s["start"] for s in report["solves"]] == [0, 0, 0, 0, 1, 1, 1]
    assert report["stop_reason"] == "every solve of the portfolio run" and report["converged"] == 7
    assert report["draws"] == 0 and report["unseen_basin_mass"] == 1.0
    printed = capsys.readouterr().out
    assert "2 starts x (first_order, simulate, adam) + continuation_parameter from start 0 = 7 solves" in printed
    assert "no coverage claim" in printed
    quick = tmp_path / "quick"
    assert (
        main(
            [
                "solve",
                str(write(tmp_path, with_changes(multistart={"workers": 2}))),
                "--out",
                str(quick),
                "--effort",
                "quick",
            ]
        )
        == 0
    )
    report = json.loads((quick / "summary.json").read_text())["start"]["multistart"]
    assert report["effort"] == "quick" and report["draws"] == 11
    assert "basins reached by fewer than 1 in 4.19 starts" in capsys.readouterr().out  # q = 1 - 0.05^(1/11) = 0.2384


def test_gradient_flow_trains_a_learning_problem_from_the_cli(tmp_path, capsys):
    config = with_changes(solver="gradient_flow", gradient_flow={"learning_rate": 0.05, "iterations": 40})
    out = tmp_path / "gf"
    assert main(["solve", str(write(tmp_path, config)), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    objective = summary["training"]["objective"]
    assert summary["status"] == "Iterations_Done" and summary["iterations"] == 40 and len(objective) == 41
    assert summary["objective"] == objective[-1] < objective[0]
    assert "gradient flow: 40 steps" in capsys.readouterr().out


def test_a_width_schedule_runs_from_the_cli_and_plots_its_grid(tmp_path, capsys):
    """dynamics.widths [2, 4] over K = 6: a width-2 then width-4 space-time network, solved to a KKT point,
    classifying the training points; space_time.png shows the grid."""
    config = with_changes(dynamics={"kind": "spacetime", "widths": [2, 4]}, multistart={"starts": 1})
    out = tmp_path / "out"
    assert main(["solve", str(write(tmp_path, config)), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["success"] and summary["train_accuracy"] >= 0.9
    assert "nx=4, nu=20" in capsys.readouterr().out  # the padded sizes
    assert (out / "space_time.png").stat().st_size > 0
    controls = np.load(out / "solution.npz")["controls"]
    assert np.all(controls[:3, 2:4] == 0) and np.all(controls[:3, 6:16] == 0)  # no kernel of absent nodes


def test_data_from_csv_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 2))
    y = np.where(x[:, 0] > 0, 1.0, -1.0)  # linearly separable
    csv = tmp_path / "points.csv"
    csv.write_text("x1,x2,label\n" + "\n".join(f"{a},{b},{c}" for (a, b), c in zip(x, y, strict=True)))
    config = with_changes(data={"source": "file", "path": str(csv), "n_test": 4})
    out = tmp_path / "csv_run"
    assert main(["solve", str(write(tmp_path, config)), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["N"] == 20 and summary["n_test"] == 4 and summary["train_accuracy"] == 1.0


def test_non_converged_solve_exits_1_and_keeps_results(tmp_path, capsys):
    config = with_changes(solver__max_iter=2, solver__first_order_iterations=0)
    out = tmp_path / "short"
    assert main(["solve", str(write(tmp_path, config)), "--out", str(out)]) == 1
    assert json.loads((out / "summary.json").read_text())["status"] == "Maximum_Iterations_Exceeded"
    assert (out / "solution.npz").exists()
    err = capsys.readouterr().err
    assert "did not converge" in err and "L-BFGS-B steps from IPOPT's point lower the objective" in err


def test_list_shows_registered_types_through_entry_points():
    result = subprocess.run([sys.executable, "-m", "ocp", "list"], capture_output=True, text=True, check=True)
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == ["l1", "l2", "resnet", "timeseries", "turnpike"]  # sorted


@pytest.mark.parametrize(
    ("problem", "keys", "figure"),
    [
        ("turnpike", ("mu_tracking", "mu_control_norm", "turnpike_fits", "tracking_at_T"), "turnpike.png"),
        ("l1", ("stopping_time", "zero_intervals"), "stopping_time.png"),
    ],
)
def test_turnpike_and_l1_from_yaml_write_their_fits_and_figures(tmp_path, problem, keys, figure):
    config = with_changes(problem=problem, K=12, multistart={"starts": 1}, data={"n_train": 12, "n_test": 4})
    out = tmp_path / problem
    assert main(["solve", str(write(tmp_path, config)), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["problem"] == problem and summary["success"]
    for key in keys:
        assert key in summary, key
    assert (out / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if problem == "l1":  # the L1 cost is the configured lambda times the solution's own L1 norm
        u = np.load(out / "solution.npz")["controls"]
        expected = 1e-3 * (4.0 / 12) * np.abs(u).sum()
        assert summary["costs"]["regularization"] == pytest.approx(expected, rel=1e-5)  # slacks: |u| + O(mu)


CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SWEEPS = sorted(p for p in CONFIGS.glob("*.yaml") if "sweep" in yaml.safe_load(p.read_text()))
SHIPPED = sorted(p for p in CONFIGS.glob("*.yaml") if p not in SWEEPS)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_config_validates_and_builds(path):
    """Each config parses, its strategies are valid and its problem builds (no solve: that is the README's job)."""
    from ocp.run.solve import read_config

    run, settings, ptype = read_config(str(path))
    setup = ptype.build(settings, run)
    if ptype.name == "timeseries":  # one member per trajectory: generated ones, or those of the record
        generated = settings.data.source in ("van_der_pol", "lotka_volterra", "linear")
        members = settings.data.members if generated else len(setup.context.series.trajectories)
    else:
        members = settings.data.n_train
    assert setup.problem.N == members and run.initializations()


@pytest.mark.parametrize("path", SWEEPS, ids=[p.name for p in SWEEPS])
def test_every_shipped_sweep_config_validates_at_every_point(path):
    """Each sweep config's base exists, its grid parses and every point's config validates and builds."""
    from ocp.sweep import load_sweep

    sweep = load_sweep(path)
    assert len(sweep.points) >= 3
    for point in sweep.points:
        run, settings, ptype = parse_config(sweep.point_config(point))
        assert ptype.build(settings, run).problem.N == settings.data.n_train
