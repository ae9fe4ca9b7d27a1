"""The global search on a set of learning problems split in two: a half to tune on, a half only reported.

    OMP_NUM_THREADS=1 python benchmarks/search_set.py list
    OMP_NUM_THREADS=1 python benchmarks/search_set.py run --half tune|held_out [--modes default portfolio ...]
    python benchmarks/search_set.py table --half held_out

Instances (`instances`): A1 (L2 regularisation) on the project's generators
(annulus, XOR, spirals) and on kinds it does not ship (two moons, moons with
classes of 80 % and 20 %, overlapping blobs, a 3x3 checkerboard, 3-D
shells), N of 100 to 200 points, T in {3, 5, 8}, lambda in {1e-3, 1e-2};
and a few A2 (turnpike) and B (L1) instances. Which half an instance is in
is fixed by its name's hash (`half_of`), before anything was measured. Every
mode runs as the CLI runs it (`MultistartSettings` defaults, 2 worker
processes, the instance seed as the search seed), with one plain solve from
start 0 timed beside it as the unit of cost:

- plain: one plain IPOPT solve (simulate) from start 0 (controls 0.3 x N(0, 1)),
  the unit of cost as in the earlier global-search benchmarks;
- quick / default / thorough: the coverage search at that effort;
- portfolio: the fixed portfolio of earlier versions (8 starts x first_order,
  simulate, adam, and the continuation from start 0).

"Best known" is the lowest objective any mode reached. Where default ends
above the portfolio, the table gives the mass of the basin it missed as
thorough's draws measured it (the share of its draws that reached the
portfolio's minimum or better). Results: benchmarks/results/search_set/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

K, SCALE = 20, 0.3
MODES = ("plain", "quick", "default", "portfolio", "thorough")


def instances() -> list[dict]:
    rows = []
    for data in ("annulus", "xor", "spirals", "moons", "moons_unequal", "blobs", "checkerboard", "shells"):
        for seed, n, T, lam in ((0, 100, 5.0, 1e-3), (1, 100, 3.0, 1e-2), (2, 200, 8.0, 1e-3), (3, 100, 5.0, 1e-2)):
            rows.append({"kind": "l2", "data": data, "n": n, "seed": seed, "T": T, "lam": lam})
    for kind in ("turnpike", "l1"):
        for data, seed in (("xor", 0), ("spirals", 1), ("moons", 2), ("blobs", 3)):
            rows.append({"kind": kind, "data": data, "n": 100, "seed": seed, "T": 10.0, "lam": 1e-2})
    return rows


def name_of(spec: dict) -> str:
    return f"{spec['kind']}_{spec['data']}_N{spec['n']}_s{spec['seed']}_T{spec['T']:g}_lam{spec['lam']:g}"


def half_of(spec: dict) -> str:
    """'tune' or 'held_out', from the name's hash: fixed before any run, independent of the results."""
    return "tune" if hashlib.sha256(name_of(spec).encode()).digest()[0] % 2 == 0 else "held_out"


def dataset(spec: dict):
    from landscape import EXTRA

    from problems.learning.datasets import Dataset, generate

    data, n, seed = spec["data"], spec["n"], spec["seed"]
    if data == "shells":
        return generate("annulus", n, 3, seed=seed)
    if data == "moons_unequal":  # 80 % of one class: drop most of the other's points
        full = EXTRA["moons"](2 * n, seed)
        minority = np.flatnonzero(full.y > 0)[: n // 5]
        keep = np.concatenate([np.flatnonzero(full.y < 0)[: n - n // 5], minority])
        return Dataset(full.x[keep], full.y[keep])
    if data in EXTRA:
        return EXTRA[data](n, seed)
    return generate(data, n, 2, seed=seed)


def pose(spec: dict):
    """(problem, method, start-0 guess, solver options) as the CLI would pose them."""
    import ocp
    from problems.learning.ensemble import random_controls
    from problems.learning.l1 import l1_problem
    from problems.learning.l2 import l2_problem
    from problems.learning.networks import NetworkDynamics
    from problems.learning.turnpike import turnpike_problem

    data, dynamics = dataset(spec), NetworkDynamics("inside", "tanh")
    T, lam = spec["T"], spec["lam"]
    if spec["kind"] == "l2":
        problem = l2_problem(data, dynamics, T=T, lam=lam)[0]
    elif spec["kind"] == "turnpike":
        problem = turnpike_problem(data, dynamics, T=T, lam=lam, output="identity")[0]
    else:
        problem = l1_problem(data, dynamics, T=T, lam=lam, output="identity")[0]
    tol = {"tol": 1e-10} if spec["kind"] == "l1" else {}  # the shipped l1 config's: exact zeros
    # the search's caps per solve (`MultistartSettings`), the plain solve's too: a plain IPOPT solve from start 0
    # on XOR N = 100 ran past 9 minutes without them
    options = ocp.SolverOptions(check_optimality=False, max_iter=500, ipopt={"max_wall_time": 300.0, **tol})
    guess = ocp.InitialGuess(controls=random_controls(K, problem.nu, SCALE, spec["seed"]))
    return problem, ocp.MultipleShooting(K=K), guess, options


def run_mode(spec: dict, mode: str) -> dict:
    from ocp.run.settings import MultistartSettings, RunSettings
    from ocp.search.multistart import multistart
    from ocp.search.strategies import Initialization, effective_strategies, first_start_strategies, solve_with
    from ocp.solvers.ipopt import OCPSolver

    problem, method, guess, options = pose(spec)
    run = RunSettings(problem=spec["kind"], K=K, seed=spec["seed"])
    inits = effective_strategies(run.initializations(), problem)
    begin = time.perf_counter()
    if mode == "plain":  # the unit of cost: plain IPOPT from start 0, as in the earlier benchmarks
        solution = solve_with(OCPSolver(problem, method, options), Initialization("simulate"), initial_guess=guess)
        return {"objective": solution.objective, "success": solution.success, "wall_s": time.perf_counter() - begin}
    first = first_start_strategies(run.first_start_initializations(), inits, problem)
    ms = MultistartSettings(effort=mode, workers=2)
    settings = ms.search_settings(inits, first, spec["seed"], run.solver.max_iter)
    best = multistart(problem, method, settings, options, guess=guess)
    report = best.start.multistart
    draws = [
        (f, s["strategy"])
        for f, s, ok in zip(report.objectives, report.solves, report.succeeded, strict=True)
        if s["role"] == "draw" and ok
    ]
    return {
        "objective": best.objective,
        "success": best.success,
        "wall_s": time.perf_counter() - begin,
        "q": report.unseen_basin_mass,
        "good_turing": report.good_turing_unseen_mass,
        "draws": report.draws,
        "local_searches": len(report.solves),
        "found_by": report.best_role,
        "draw_objectives": [f for f, _ in draws],
        "draw_strategies": [name for _, name in draws],  # which strategy reached which minimum
        "n_draws_run": report.draws,
        "seconds_by_kind": seconds_by_kind(report.solves),
    }


def seconds_by_kind(solves: list[dict]) -> dict[str, list[float]]:
    """Per role and strategy ("draw simulate", "hop first_order", ...): [solves, total seconds]."""
    out: dict[str, list[float]] = {}
    for solve in solves:
        if "time_s" in solve:
            entry = out.setdefault(f"{solve['role']} {solve['strategy']}", [0, 0.0])
            entry[0] += 1
            entry[1] += solve["time_s"]
    return out


def path_of(spec: dict) -> Path:
    return HERE / "results" / "search_set" / f"{name_of(spec)}.json"


def run(half: str, modes: list[str], only: list[str] | None) -> None:
    for spec in instances():
        if half_of(spec) != half or (only and name_of(spec) not in only):
            continue
        path = path_of(spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = json.loads(path.read_text()) if path.exists() else {"spec": spec}
        for mode in modes:
            if mode in record:
                continue
            record[mode] = run_mode(spec, mode)
            path.write_text(json.dumps(record))
            r = record[mode]
            print(f"{name_of(spec)} {mode}: {r['objective']:.6g} in {r['wall_s']:.1f} s", flush=True)


def relative(a: float, b: float) -> float:
    return (a - b) / max(abs(b), 1e-12)


def table(half: str) -> str:
    from ocp.search.minima import hits_per_minimum

    rows, lines = [], []
    for spec in instances():
        if half_of(spec) == half and path_of(spec).exists():
            rows.append(json.loads(path_of(spec).read_text()))
    lines.append(
        "| instance | plain s | default: vs portfolio, cost, q | quick: vs portfolio, cost | thorough: vs best "
        "known, cost | portfolio cost | missed basin's mass (thorough's draws) |"
    )
    lines.append("| --- | --- | --- | --- | --- | --- | --- |")
    stats = {"default_ok": 0, "default_n": 0, "thorough_ok": 0, "thorough_n": 0, "quick_ok": 0, "quick_n": 0}
    costs: dict[str, list[float]] = {m: [] for m in MODES}
    for rec in rows:
        if "plain" not in rec:
            continue
        unit = rec["plain"]["wall_s"]
        best = min(rec[m]["objective"] for m in MODES if m in rec and rec[m]["success"])
        for m in MODES:
            if m in rec:
                costs[m].append(rec[m]["wall_s"] / unit)
        cells = [name_of(rec["spec"]), f"{unit:.1f}"]
        missed = "-"
        if "default" in rec and "portfolio" in rec:
            gap = relative(rec["default"]["objective"], rec["portfolio"]["objective"])
            stats["default_n"] += 1
            stats["default_ok"] += gap <= 1e-3
            cells.append(f"{gap:+.2%}, {rec['default']['wall_s'] / unit:.1f}x, {rec['default']['q']:.3f}")
            if gap > 1e-3 and "thorough" in rec:
                target = rec["portfolio"]["objective"] * (1 + 1e-6)
                hits = np.asarray(rec["thorough"]["draw_objectives"]) <= target
                missed = f"{hits.sum() / max(1, rec['thorough']['draws']):.3f}"
        else:
            cells.append("-")
        if "quick" in rec and "portfolio" in rec:
            gap = relative(rec["quick"]["objective"], rec["portfolio"]["objective"])
            stats["quick_n"] += 1
            stats["quick_ok"] += gap <= 1e-3
            cells.append(f"{gap:+.2%}, {rec['quick']['wall_s'] / unit:.1f}x")
        else:
            cells.append("-")
        if "thorough" in rec:
            gap = relative(rec["thorough"]["objective"], best)
            stats["thorough_n"] += 1
            stats["thorough_ok"] += gap <= 1e-3
            cells.append(f"{gap:+.2%}, {rec['thorough']['wall_s'] / unit:.1f}x")
        else:
            cells.append("-")
        cells.append(f"{rec['portfolio']['wall_s'] / unit:.1f}x" if "portfolio" in rec else "-")
        cells.append(missed)
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"default within 0.1 % of the portfolio (or better): {stats['default_ok']} / {stats['default_n']}; "
        f"quick: {stats['quick_ok']} / {stats['quick_n']}; "
        f"thorough within 0.1 % of the best known: {stats['thorough_ok']} / {stats['thorough_n']}"
    )
    benign = [
        rec["default"]["wall_s"] / rec["plain"]["wall_s"]
        for rec in rows
        if "default" in rec and "plain" in rec and len(hits_per_minimum(rec["default"]["draw_objectives"])) == 1
    ]
    lines.append(f"benign (every converged draw of default reached one minimum): default at {benign} plain solves")
    medians = ", ".join(f"{m} {np.median(c):.1f}x" for m, c in costs.items() if c and m != "plain")
    lines.append(f"median cost in plain solves: {medians}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list")
    go = sub.add_parser("run")
    go.add_argument("--half", choices=("tune", "held_out"), required=True)
    go.add_argument("--modes", nargs="+", default=["plain", "default", "portfolio"], choices=MODES)
    go.add_argument("--only", nargs="*", default=None)
    show = sub.add_parser("table")
    show.add_argument("--half", choices=("tune", "held_out"), required=True)
    args = parser.parse_args()
    if args.command == "list":
        for spec in instances():
            print(half_of(spec), name_of(spec))
    elif args.command == "run":
        run(args.half, args.modes, args.only)
    else:
        print(table(args.half))


if __name__ == "__main__":
    main()
