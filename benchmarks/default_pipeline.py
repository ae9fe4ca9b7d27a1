"""The CLI's default pipeline, run for real (not replayed from recorded solves) on strategies.py's instances.

    OMP_NUM_THREADS=1 python benchmarks/default_pipeline.py --problem l1 --instance spirals:100:0 spirals:100:4
    OMP_NUM_THREADS=1 python benchmarks/default_pipeline.py --instance annulus:1000:0

Same data, start and problem settings as `strategies.py` (its `pose`, its
start 0: controls 0.3 x N(0, 1) seeded by the instance seed); the multi-start
settings are `MultistartSettings()`'s defaults (effort default: 23 draws
from first_order / simulate / adam, extras: the configured start, a
continuation in lambda, hops and more starts; iteration and wall caps,
patience), on 2 worker processes. For each instance: the kept cost,
which solve found it, wall time, and the gap to the best cost recorded for
that instance in results/strategies*.json (if there is one), and to a
single plain IPOPT solve from start 0 (`simulate`), timed in the same process.
Writes results/default_pipeline.json (re-running skips instances already
there) and prints a table for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from strategies import SCALE, K, pose  # noqa: E402


def recorded_best(kind: str, spec: tuple[str, int, int]) -> float | None:
    """The lowest successful cost any method reached on this instance in strategies.py's result files."""
    suffix = "" if kind == "l2" else f"_{kind}"
    costs = []
    for path in (HERE / "results").glob(f"strategies{suffix}*.json"):
        if kind == "l2" and path.stem.split("_")[1:2] in (["l1"], ["turnpike"]):
            continue
        for r in json.loads(path.read_text()):
            if (r["dataset"], r["N"], r["seed"]) == spec:
                costs += [m["cost"] for m in r["methods"].values() if m.get("success") and m["cost"] == m["cost"]]
    return min(costs) if costs else None


def run_instance(kind: str, spec: tuple[str, int, int], workers: int) -> dict:
    from dataclasses import replace

    import ocp
    from ocp.run.settings import RunSettings
    from ocp.search.multistart import multistart
    from ocp.search.strategies import Initialization, effective_strategies, first_start_strategies, solve_with
    from problems.learning.datasets import generate
    from problems.learning.ensemble import random_controls

    name, n, seed = spec
    problem = pose(kind, generate(name, n, 2, seed=seed))
    method = ocp.MultipleShooting(K=K)
    guess = ocp.InitialGuess(controls=random_controls(K, problem.nu, SCALE, seed))
    settings = RunSettings(problem=kind, K=K, seed=seed)
    ms = settings.multistart
    tol = {"tol": 1e-10} if kind == "l1" else {}  # the shipped l1 config's: exact zeros
    options = ocp.SolverOptions(check_optimality=False, ipopt=tol)

    begin = time.perf_counter()
    plain = solve_with(ocp.OCPSolver(problem, method, options), Initialization("simulate"), initial_guess=guess)
    plain_s = time.perf_counter() - begin

    begin = time.perf_counter()
    inits = effective_strategies(settings.initializations(), problem)
    first = first_start_strategies(settings.first_start_initializations(), inits, problem)
    chosen = replace(ms, workers=workers).search_settings(inits, first, seed, settings.solver.max_iter)
    best = multistart(problem, method, chosen, options, guess=guess)
    wall = time.perf_counter() - begin
    report = best.start["multistart"]
    return {
        "problem": kind,
        "dataset": name,
        "N": n,
        "seed": seed,
        "cost": best.objective,
        "success": best.success,
        "found_by": report.found_by(),
        "solves": len(report["solves"]),
        "stopped_for_patience": report["stopped_for_patience"],
        "wall_s": wall,
        "plain_cost": plain.objective,
        "plain_s": plain_s,
        "recorded_best": recorded_best(kind, spec),
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| problem | instance | default cost | found by | gap to recorded best | plain IPOPT cost | wall s "
        "| wall / one plain solve |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        best = r["recorded_best"]
        gap = "-" if best is None else f"{(r['cost'] - best) / best:+.2%}"
        lines.append(
            f"| {r['problem']} | {r['dataset']} N={r['N']} seed {r['seed']} | {r['cost']:.6f} | {r['found_by']} | "
            f"{gap} | {r['plain_cost']:.6f} | {r['wall_s']:.0f} | {r['wall_s'] / r['plain_s']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problem", choices=("l2", "turnpike", "l1"), default="l2")
    parser.add_argument("--instance", nargs="+", required=True, help="DATASET:N:SEED, e.g. spirals:100:4")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "results" / "default_pipeline.json"))
    args = parser.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = json.loads(out.read_text()) if out.exists() else []
    for text in args.instance:
        name, n, seed = text.split(":")
        spec = (name, int(n), int(seed))
        if any((r["problem"], r["dataset"], r["N"], r["seed"]) == (args.problem, *spec) for r in rows):
            continue
        rows.append(run_instance(args.problem, spec, args.workers))
        out.write_text(json.dumps(rows, indent=1))  # after each instance: a cut-off run keeps its part
        print(f"done {args.problem} {text}: {rows[-1]['cost']:.6f} in {rows[-1]['wall_s']:.0f} s", flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
