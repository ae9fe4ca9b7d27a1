"""Cheaper draws for the global search (issue 30, item 4): what a draw costs and where it lands, three ways.

    OMP_NUM_THREADS=1 python benchmarks/cheaper_draws.py --draws 20 --only NAME [NAME ...]
    python benchmarks/cheaper_draws.py --table

For each instance of `search_set.py` named, the search's first ``--draws`` draws (random start i: controls
1.0 x N(0, 1) seeded (seed, i); strategy drawn from the mixture seeded apart, as `ocp.search.tasks` does) are
solved three ways, one after the other in one process, so the times compare:

- full: the draw as the search runs it (the strategy, then IPOPT on all N points);
- subset: the strategy on a random quarter of the points (seeded per draw), then IPOPT on all N points from the
  subset's controls with the states simulated (multi-fidelity: the cheap solve picks the basin, the full solve
  polishes);
- truncated: IPOPT on all N points capped at ``--cap`` iterations: how far into its basin a draw is after a
  fixed share of its work (a cut-off rule would stop it there when it heads into a known minimum).

It reports, per way: the seconds per draw, the distinct minima the draws reached, and the share of draws
that reached the best objective any way found (the best basin's mass under that way's start distribution).
A way is cheaper only if it is faster and the best basin's mass does not shrink. Results:
benchmarks/results/cheaper_draws/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from search_set import instances, name_of, pose  # noqa: E402

OUT = HERE / "results" / "cheaper_draws"
SUBSET_STREAM = 31337


def subset_problem(spec: dict, fraction: float, seed: list[int]):
    """The instance posed on a random ``fraction`` of its points (at least 8)."""
    import search_set

    full = search_set.dataset(spec)
    n = len(full.y)
    keep = np.sort(np.random.default_rng(seed).choice(n, size=max(8, int(round(fraction * n))), replace=False))
    original = search_set.dataset
    try:
        search_set.dataset = lambda _spec: type(full)(full.x[keep], full.y[keep])
        return pose(spec)[0]
    finally:
        search_set.dataset = original


def run(spec: dict, draws: int, fraction: float, cap: int) -> dict:
    import ocp
    from ocp.run.settings import RunSettings
    from ocp.search.strategies import Initialization, effective_strategies, solve_with
    from ocp.search.tasks import draw_strategy, random_guess
    from ocp.solvers.ipopt import OCPSolver

    problem, method, guess, options = pose(spec)
    mixture = effective_strategies(RunSettings(problem=spec["kind"]).initializations(), problem)
    full = OCPSolver(problem, method, options)
    capped = OCPSolver(problem, method, replace(options, max_iter=cap))
    rows = []
    for i in range(1, draws + 1):
        start = random_guess(guess, (method.K, problem.nu), 1.0, [spec["seed"], i])
        strategy = draw_strategy(mixture, spec["seed"], i)
        row = {"draw": i, "strategy": strategy.strategy}

        begin = time.perf_counter()
        sol = solve_with(full, strategy, initial_guess=start)
        row["full"] = {"objective": sol.objective, "ok": sol.success, "s": time.perf_counter() - begin}

        begin = time.perf_counter()
        small = subset_problem(spec, fraction, [spec["seed"], SUBSET_STREAM, i])
        build_s = time.perf_counter() - begin
        cheap = solve_with(OCPSolver(small, method, options), strategy, initial_guess=start)
        polish = solve_with(full, Initialization("simulate"), initial_guess=ocp.InitialGuess(controls=cheap.controls))
        row["subset"] = {
            "objective": polish.objective,
            "ok": polish.success,
            "s": time.perf_counter() - begin,
            "build_s": build_s,
            "polish_iterations": polish.iterations,
        }

        begin = time.perf_counter()
        cut = solve_with(capped, strategy, initial_guess=start)
        row["truncated"] = {"objective": cut.objective, "iterations": cut.iterations, "s": time.perf_counter() - begin}
        rows.append(row)
        print(
            f"{name_of(spec)} draw {i} {strategy.strategy}: full {row['full']['objective']:.6g} "
            f"({row['full']['s']:.1f} s), subset {row['subset']['objective']:.6g} ({row['subset']['s']:.1f} s), "
            f"truncated {row['truncated']['objective']:.6g} ({row['truncated']['s']:.1f} s)",
            flush=True,
        )
    return {"spec": spec, "fraction": fraction, "cap": cap, "rows": rows}


def summary(record: dict) -> str:
    from ocp.search.minima import hits_per_minimum

    rows = record["rows"]
    best = min(r[w]["objective"] for r in rows for w in ("full", "subset") if r[w]["ok"])
    lines = [f"{name_of(record['spec'])} ({len(rows)} draws, best {best:.6g})"]
    for way in ("full", "subset"):
        objectives = [r[way]["objective"] for r in rows if r[way]["ok"]]
        seconds = np.mean([r[way]["s"] for r in rows])
        hit = np.mean([r[way]["ok"] and r[way]["objective"] <= best * (1 + 1e-6) for r in rows])
        lines.append(
            f"  {way:9s} {seconds:6.2f} s/draw, {len(hits_per_minimum(objectives))} minima, best basin mass {hit:.2f}"
        )
    # truncated: does the objective after ``cap`` iterations already tell the full draw's minimum apart?
    near = [abs(r["truncated"]["objective"] - r["full"]["objective"]) / abs(r["full"]["objective"]) for r in rows]
    lines.append(
        f"  truncated {np.mean([r['truncated']['s'] for r in rows]):6.2f} s/draw at {record['cap']} iterations; "
        f"within 1 % of the full draw's minimum: {np.mean(np.asarray(near) < 0.01):.2f} of draws"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--fraction", type=float, default=0.25)
    parser.add_argument("--cap", type=int, default=30)
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.table:
        for path in sorted(OUT.glob("*.json")):
            print(summary(json.loads(path.read_text())))
        return
    for spec in instances():
        if name_of(spec) in args.only:
            record = run(spec, args.draws, args.fraction, args.cap)
            (OUT / f"{name_of(spec)}.json").write_text(json.dumps(record))
            print(summary(record), flush=True)


if __name__ == "__main__":
    main()
