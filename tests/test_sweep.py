"""Sweeps (`ocp.sweep`): grids, resume after a kill, workers and Dask against a serial run,
warm starts against cold solves, failures recorded, bad grids refused before any solve."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from ocp.cli import main
from ocp.errors import ConfigError
from ocp.run.solve import parse_config
from ocp.solvers.ipopt import OCPSolver
from ocp.sweep import load_sweep, parse_grid, run_sweep
from ocp.sweep.store import SweepStore

ROOT = Path(__file__).resolve().parent.parent

# A small A1 instance: 30 points, K = 10; a solve takes well under a second.
SMALL = {
    "problem": "l2",
    "seed": 0,
    "T": 2.0,
    "K": 10,
    "lambda": 1.0e-3,
    "data": {"source": "annulus", "n_train": 30, "n_test": 10},
    "multistart": {"starts": 1, "extra_strategies": []},
    "solver": {"check_optimality": False},
}


def write_config(tmp_path: Path, grid: dict, name: str = "sweep.yaml", **extra) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({**SMALL, **extra, "sweep": {"grid": grid}}))
    return path


def rows(directory: Path) -> dict[str, dict[str, str]]:
    with open(directory / "sweep.csv") as f:
        return {r["point"]: r for r in csv.DictReader(f)}


def objectives(directory: Path) -> dict[str, float]:
    return {k: float(r["objective"]) for k, r in rows(directory).items()}


# --- the grid --------------------------------------------------------------------------------------


def test_grid_values_ranges_rules_and_chains():
    grid = parse_grid(
        {
            "grid": {
                "T": {"range": [1, 3, 1]},
                "lambda": {"logspace": [1e-3, 1e-1, 3]},
                "K": {"rule": "round(10 * T)"},
                "init_scale": {"rule": "0.3 / sqrt(T)"},
            },
            "chain": "T",
        }
    )
    assert grid.axes["T"] == (1, 2, 3)
    np.testing.assert_allclose(grid.axes["lambda"], [1e-3, 1e-2, 1e-1], rtol=1e-12)
    points = grid.points()
    assert len(points) == 9
    assert [p.values["K"] for p in points[:3]] == [10, 10, 10] and isinstance(points[0].values["K"], int)
    assert points[-1].values["init_scale"] == pytest.approx(0.3 / np.sqrt(3))
    chains: dict[int, list] = {}
    for p in points:
        chains.setdefault(p.chain, []).append(p)
    assert len(chains) == 3  # one per lambda, each ordered by T
    for members in chains.values():
        assert [p.values["T"] for p in sorted(members, key=lambda p: p.position)] == [1, 2, 3]
        assert len({p.values["lambda"] for p in members}) == 1
    lin = parse_grid({"grid": {"T": {"linspace": [1.0, 2.0, 3]}}}).axes["T"]
    assert lin == (1.0, 1.5, 2.0)
    down = parse_grid({"grid": {"lambda": [1e-3, 1e-1, 1e-2]}, "order": "descending"}).points()
    assert [p.values["lambda"] for p in sorted(down, key=lambda p: p.position)] == [1e-1, 1e-2, 1e-3]
    cold = parse_grid({"grid": {"T": [1, 2, 3]}, "warm_start": False}).points()
    assert len({p.chain for p in cold}) == 3  # without warm starts every point runs on its own


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"T": []}, "'sweep.grid.T' is an empty list"),
        ({"T": [1.0, -2.0]}, "'T' must be > 0, got -2.0"),
        ({"T": [0]}, "'T' must be > 0"),
        ({"lambda": [1e-3, "big"]}, "'lambda' must be a number, got str 'big'"),
        ({"T": {"logspace": [0, 1, 3]}}, "sweep.grid.T.logspace: first and last must be > 0"),
        ({"T": [1], "lambda": {"rule": "0.1 / S"}}, "unknown name"),
        ({"colour": [1, 2]}, "unknown key 'colour'"),
        ({"data.n_train": [30, 1]}, "'data.n_train' must be >= 2"),
    ],
)
def test_bad_grid_fails_before_any_solve(tmp_path, capsys, grid, message):
    path = write_config(tmp_path, grid)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()  # nothing solved, nothing written


def test_bad_sweep_section_names_the_key(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**SMALL, "sweep": {"grid": {"T": [1]}, "direction": "up"}}))
    with pytest.raises(ConfigError, match="unknown key 'sweep.direction'"):
        load_sweep(path)
    path.write_text(yaml.safe_dump({**SMALL, "sweep": {"grid": {"T": [1]}, "order": "up"}}))
    with pytest.raises(ConfigError, match="'sweep.order' must be 'ascending' or 'descending', got 'up'"):
        load_sweep(path)
    path.write_text(yaml.safe_dump({**SMALL, "sweep": {"grid": {"T": [1]}, "chain": "lambda"}}))
    with pytest.raises(ConfigError, match="'sweep.chain' must name an independent grid axis"):
        load_sweep(path)


# --- running, resuming, failing ---------------------------------------------------------------------


def test_sweep_builds_once_warm_starts_and_matches_single_solves(tmp_path):
    """T and lambda are NLP parameters: one build for the whole grid; each chain's first point equals
    `ocp solve` of that point's config, and every point's objective equals a fresh solve warm-started
    from the recorded predecessor (so the warm start used is the one stored)."""
    path = write_config(tmp_path, {"T": [1.0, 2.0, 3.0], "lambda": [1e-3, 1e-2]})
    result = run_sweep(load_sweep(path), tmp_path / "out", workers=1)
    s = result.summary
    assert (s["points"], s["finished"], s["failed"], s["builds"], s["warm_started"]) == (6, 6, 0, 1, 4)
    table = rows(tmp_path / "out")
    assert all(r["success"] == "True" for r in table.values())
    first = next(r for r in table.values() if r["position"] == "0" and float(r["lambda"]) == 1e-2)
    single = tmp_path / "single.yaml"
    single.write_text(yaml.safe_dump({**SMALL, "T": 1.0, "lambda": 1e-2}))
    assert main(["solve", str(single), "--out", str(tmp_path / "single")]) == 0
    alone = json.loads((tmp_path / "single" / "summary.json").read_text())["objective"]
    assert float(first["objective"]) == pytest.approx(alone, rel=1e-9)
    records = result.records
    assert records["p0001"]["lambda"] == 1e-2 and records["p0001"]["T"] == 1.0


def test_sweep_killed_part_way_resumes_to_the_uninterrupted_numbers(tmp_path):
    """Kill `ocp sweep` (its process group: the worker too) after two points; the re-run solves only the
    missing points, each once, and every number equals an uninterrupted run's."""
    path = write_config(tmp_path, {"T": [1.0, 1.5, 2.0, 2.5, 3.0, 3.5]})
    whole = tmp_path / "whole"
    assert main(["sweep", str(path), "--out", str(whole), "--workers", "1"]) == 0
    cut = tmp_path / "cut"
    command = [sys.executable, "-m", "ocp", "sweep", str(path), "--out", str(cut), "--workers", "1"]
    proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list((cut / "points").glob("p*.json"))) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in (cut / "points").glob("p*.json")}
    assert 2 <= len(before) < 6, "the sweep was not cut part-way; make the points slower"
    assert main(["sweep", str(path), "--out", str(cut), "--workers", "1"]) == 0
    after = {p.name: p.stat().st_mtime_ns for p in (cut / "points").glob("p*.json")}
    assert len(after) == 6
    assert all(after[name] == stamp for name, stamp in before.items())  # finished points not solved again
    runs = [json.loads((cut / "points" / name).read_text())["run_id"] for name in sorted(after)]
    assert len(set(runs[: len(before)])) == 1 and len(set(runs[len(before) :])) == 1 and runs[0] != runs[-1]
    assert json.loads((cut / "sweep.json").read_text())["this_run"]["points_solved"] == 6 - len(before)
    assert objectives(cut) == objectives(whole)  # identical, not merely close
    for key in ("iterations", "loss", "regularization"):
        assert [r[key] for r in rows(cut).values()] == [r[key] for r in rows(whole).values()]


def test_two_worker_processes_equal_the_serial_run(tmp_path):
    path = write_config(tmp_path, {"T": [1.0, 2.0], "lambda": [1e-3, 1e-2]})
    assert main(["sweep", str(path), "--out", str(tmp_path / "serial"), "--workers", "1"]) == 0
    assert main(["sweep", str(path), "--out", str(tmp_path / "pool"), "--workers", "2"]) == 0
    serial, pool = objectives(tmp_path / "serial"), objectives(tmp_path / "pool")
    assert serial.keys() == pool.keys()
    for k in serial:
        assert pool[k] == pytest.approx(serial[k], rel=1e-8)


def test_dask_local_cluster_equals_the_serial_run(tmp_path):
    pytest.importorskip("dask.distributed", reason="the dask extra is not installed")
    path = write_config(tmp_path, {"T": [1.0, 2.0], "lambda": [1e-3, 1e-2]})
    assert main(["sweep", str(path), "--out", str(tmp_path / "serial"), "--workers", "1"]) == 0
    code = main(["sweep", str(path), "--out", str(tmp_path / "dask"), "--workers", "2", "--executor", "dask"])
    assert code == 0
    serial, dask = objectives(tmp_path / "serial"), objectives(tmp_path / "dask")
    assert serial.keys() == dask.keys()
    for k in serial:
        assert dask[k] == pytest.approx(serial[k], rel=1e-8)


def test_failed_point_is_recorded_and_the_rest_go_on(tmp_path, capsys):
    """max_iter 2 at one point: IPOPT stops there; the point is recorded with its status, the others
    solve, the exit code says some failed, and a re-run does not solve the failure again."""
    path = write_config(tmp_path, {"T": [1.0, 2.0], "solver.max_iter": [3000, 2]})
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 1
    assert "1 points failed" in capsys.readouterr().err
    table = rows(out)
    failed = [r for r in table.values() if r["success"] == "False"]
    assert len(table) == 4 and len(failed) == 1
    assert failed[0]["status"] == "Maximum_Iterations_Exceeded" and failed[0]["solver.max_iter"] == "2"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 1
    assert json.loads((out / "sweep.json").read_text())["this_run"]["points_solved"] == 0


def test_changed_config_is_refused_in_the_same_directory(tmp_path, capsys):
    out = tmp_path / "out"
    path = write_config(tmp_path, {"T": [1.0]})
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 0
    before = (out / "sweep.csv").read_text()
    changed = write_config(tmp_path, {"T": [1.0, 2.0]}, name="changed.yaml")
    assert main(["sweep", str(changed), "--out", str(out), "--workers", "1"]) == 2
    assert "holds the results of a different sweep config" in capsys.readouterr().err
    assert (out / "sweep.csv").read_text() == before


def test_report_redraws_from_stored_results(tmp_path):
    path = write_config(tmp_path, {"T": [1.0, 2.0, 4.0]})
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 0
    fits = json.loads((out / "sweep.json").read_text())["fits"]
    (out / "error_vs_T.png").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "error_vs_T.png").is_file()
    assert json.loads((out / "sweep.json").read_text())["fits"] == fits
    table = rows(out)
    T = np.array([float(r["T"]) for r in table.values()])
    error = np.array([float(r["final_training_error"]) for r in table.values()])
    slope = np.polyfit(np.log(T), np.log(error), 1)[0]  # the fit, computed independently
    assert fits["error_vs_T"]["all points"]["alpha"] == pytest.approx(-slope, rel=1e-9)


@pytest.mark.slow
def test_shipped_T_sweep_warm_chain_uses_fewer_iterations_than_cold_solves(tmp_path):
    """configs/sweep_T_l2.yaml as shipped, warm-started chain against every point solved cold."""
    config = ROOT / "configs" / "sweep_T_l2.yaml"
    warm = run_sweep(load_sweep(config), tmp_path / "warm", workers=1).summary
    sweep = load_sweep(config)
    cold_sweep = replace(sweep, grid=replace(sweep.grid, warm_start=False))  # as `ocp sweep --cold`
    cold = run_sweep(cold_sweep, tmp_path / "cold", workers=1).summary
    assert warm["failed"] == cold["failed"] == 0
    assert warm["builds"] == 1 and cold["builds"] == 0  # in one process the cold run reuses the warm run's build
    assert warm["warm_started"] == 4 and cold["warm_started"] == 0
    assert warm["iterations"] < cold["iterations"]


def test_a_search_config_searches_at_every_point_with_the_neighbours_solution_as_a_start(tmp_path):
    """Where the config runs a search, a warm point runs it too, with the previous point's solution as its first
    local search (counted like the others); that local search is exactly a warm solve from the recorded
    predecessor, and the point keeps the best of the search."""
    search = {"starts": 2, "extra_strategies": [], "first_start_strategies": [], "effort": "portfolio", "workers": 1}
    path = write_config(tmp_path, {"T": [1.0, 2.0]}, multistart=search)
    result = run_sweep(load_sweep(path), tmp_path / "out", workers=1)
    assert result.summary["failed"] == 0
    first, later = sorted(result.records.values(), key=lambda r: r["position"])
    assert later["warm_start"] and not first["warm_start"]
    store = SweepStore(tmp_path / "out")
    report = store.solution(later["point"]).start["multistart"]
    assert report["warm_start"] and len(report["solves"]) == 3  # the neighbour's solution, then the two starts
    assert later["objective"] == pytest.approx(min(np.array(report["objectives"])[report["succeeded"]]), rel=1e-12)
    run, settings, ptype = parse_config({**SMALL, "T": 2.0, "multistart": search})
    problem = ptype.build(settings, run).problem
    alone = OCPSolver(problem, run.discretisation(), run.solver.options()).solve(
        T=2.0, parameters={p.name: p.value for p in problem.parameters}, initial_guess=store.solution(first["point"])
    )
    assert report["objectives"][0] == pytest.approx(alone.objective, rel=1e-9)


def _workers_of(pid: int) -> list[int]:
    """The spawned pool workers among the children of process ``pid`` (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                found.append(int(child))
    return found


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds worker processes through /proc")
def test_a_worker_killed_mid_sweep_is_replaced_and_every_point_solved(tmp_path):
    """SIGKILL one of two worker processes while points run: its points are solved again in a fresh
    pool, the sweep exits 0, and every objective equals a serial run's."""
    path = write_config(tmp_path, {"T": [1.0, 1.5, 2.0, 2.5, 3.0, 3.5]}, data={"source": "annulus", "n_train": 150})
    text = yaml.safe_load(path.read_text())
    text["sweep"]["warm_start"] = False  # six independent points: both workers busy
    path.write_text(yaml.safe_dump(text))
    assert main(["sweep", str(path), "--out", str(tmp_path / "serial"), "--workers", "1"]) == 0
    out = tmp_path / "pool"
    command = [sys.executable, "-m", "ocp", "sweep", str(path), "--out", str(out), "--workers", "2"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline, killed = time.time() + 120, None
    while killed is None and time.time() < deadline and proc.poll() is None:
        workers = _workers_of(proc.pid)
        if len(workers) == 2 and (out / "points").is_dir():
            os.kill(workers[0], signal.SIGKILL)
            killed = workers[0]
        time.sleep(0.05)
    output, _ = proc.communicate(timeout=300)
    assert killed is not None, output
    assert proc.returncode == 0, output
    assert "its worker died (BrokenProcessPool); solving it again in a fresh worker" in output
    assert objectives(out) == pytest.approx(objectives(tmp_path / "serial"), rel=1e-8)
    assert all(r["success"] == "True" for r in rows(out).values())


@pytest.mark.parametrize("warm", [True, False])
def test_ctrl_c_stops_an_in_process_sweep_within_seconds_and_a_rerun_finishes_it(tmp_path, warm):
    """`--workers 1` solves in the sweep's own process, where CasADi swallows Ctrl-C inside IPOPT: the solve
    must stop on the flag the single solve uses. The finished points stay, the cut point is not recorded as
    failed, and the rerun solves only what is left."""
    data = {"source": "annulus", "n_train": 200, "n_test": 10}
    slow = {"data": data, "K": 20, "initialization": {"strategy": "simulate"}}  # a cold point: about 15 s
    grid = {"T": [3.0, 4.0, 5.0, 6.0]}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({**SMALL, **slow, "sweep": {"grid": grid, "warm_start": warm}}))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "ocp", "sweep", str(path), "--out", str(out), "--workers", "1"]
    proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while len(list((out / "points").glob("p*.json"))) < 1 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.5)  # into the next point's IPOPT iterations
    os.killpg(proc.pid, signal.SIGINT)
    begin = time.monotonic()
    try:
        printed, errors = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the in-process sweep was still running 60 s after Ctrl-C")
    assert proc.returncode == 130, errors[-2000:]
    assert time.monotonic() - begin < 10
    assert "Traceback" not in errors
    records = [json.loads(p.read_text()) for p in (out / "points").glob("p*.json")]
    assert 1 <= len(records) < 4 and all(str(r["success"]) == "True" for r in records)
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 0
    assert len(list((out / "points").glob("p*.json"))) == 4
    assert json.loads((out / "sweep.json").read_text())["this_run"]["points_solved"] == 4 - len(records)


def test_a_collocation_sweep_builds_once_warm_starts_and_runs_on_dask_as_in_process(tmp_path):
    """``method: {kind: collocation}``: one build for the grid, warm starts along each chain (the stage
    values included: the same NLP), and a Dask cluster's numbers equal the in-process run's."""
    pytest.importorskip("dask.distributed", reason="the dask extra is not installed")
    path = write_config(tmp_path, {"lambda": [1e-3, 1e-2, 3e-2]}, method={"kind": "collocation", "degree": 2})
    result = run_sweep(load_sweep(path), tmp_path / "serial", workers=1)
    s = result.summary
    assert (s["points"], s["finished"], s["failed"], s["builds"], s["warm_started"]) == (3, 3, 0, 1, 2)
    code = main(["sweep", str(path), "--out", str(tmp_path / "dask"), "--workers", "2", "--executor", "dask"])
    assert code == 0
    serial, dask = objectives(tmp_path / "serial"), objectives(tmp_path / "dask")
    for k in serial:
        assert dask[k] == pytest.approx(serial[k], rel=1e-8)
