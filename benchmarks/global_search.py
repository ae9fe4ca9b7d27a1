"""The CLI's default search, run for real, against today's portfolio and the best known optimum.

    OMP_NUM_THREADS=1 python benchmarks/global_search.py [--only NAME ...] [--workers 2]

For every instance recorded by `landscape.py collect` (its pool of 52 solves
per instance: 16 starts x first_order, simulate and adam, and four
continuations in lambda), in one process: one plain IPOPT solve from start 0
(the unit of cost), then the default search of `ocp.run.settings.MultistartSettings`
(stopping rule, hops, budget) on 2 worker processes, timed. "Today" is the
portfolio of earlier versions (starts 0-7 x 3 strategies + one continuation,
`confidence: null, hops: 0`), replayed from the pool with its 2-worker
schedule and patience (`landscape.schedule`); "best known" is the lowest
objective of the whole pool and of every search run here. Writes
results/global_search.json (a rerun skips instances already there) and
prints the tables of benchmarks/README.md, "Global search".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from landscape import instances, load_pools, name_of, pose_instance, run_policy  # noqa: E402


def run_instance(spec, workers: int) -> dict:
    from ocp.run.settings import RunSettings
    from ocp.search.multistart import effective_strategies, multistart, random_starts
    from ocp.search.strategies import Initialization, solve_with
    from ocp.solvers.ipopt import OCPSolver

    problem, method, guess, options = pose_instance(spec)
    settings = RunSettings(problem=spec[0], K=method.K, seed=spec[3])
    ms = settings.multistart
    begin = time.perf_counter()
    plain = solve_with(OCPSolver(problem, method, options), Initialization("simulate"), initial_guess=guess)
    plain_s = time.perf_counter() - begin
    begin = time.perf_counter()
    best = multistart(
        problem,
        method,
        random_starts(guess, method.K, problem.nu, ms.starts, ms.scale, spec[3]),
        options,
        init=effective_strategies(settings.initializations(), problem),
        first_start=settings.first_start_initializations(),
        workers=workers,
        seed=spec[3],
        **ms.search_arguments(),
    )
    wall = time.perf_counter() - begin
    report = best.start["multistart"]
    return {
        "instance": name_of(spec),
        "objective": best.objective,
        "success": best.success,
        "wall_s": wall,
        "plain_s": plain_s,
        "plain_objective": plain.objective,
        "local_searches": report["local_searches"],
        "distinct": report["distinct"],
        "best_hits": report["best_hits"],
        "probability_best_is_global": report["estimate"]["probability_best_is_global"],
        "stop_reason": report["stop_reason"],
        "found_by": report["best_strategy"],
        "objectives": report["objectives"],
        "solves": report["solves"],
    }


def tables(rows: list[dict], pools: dict[str, dict], confidence: float) -> str:
    lines = [
        "| instance | best known | today: gap, wall / plain | search: gap, wall / plain | searches, distinct, "
        "best hits | P(best is global) | stopped |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    ratios, today_ratios, within, not_worse, claimed, held = [], [], 0, 0, 0, 0
    for r in rows:
        pool = pools[r["instance"]]
        recorded = [s["objective"] for s in pool["solves"] if s["success"]]
        best_known = min([*recorded, r["objective"]])
        today, today_x, _ = run_policy(pool, 8, None)
        x = r["wall_s"] / r["plain_s"]
        ratios.append(x)
        today_ratios.append(today_x)
        gap, today_gap = r["objective"] / best_known - 1, today / best_known - 1
        within += gap <= 1e-3
        not_worse += r["objective"] <= today * (1 + 1e-3)
        if r["probability_best_is_global"] >= confidence:
            claimed += 1
            held += gap <= 1e-6
        lines.append(
            f"| {r['instance']} | {best_known:.6g} | {today_gap:+.2%}, {today_x:.1f} | {gap:+.2%}, {x:.1f} | "
            f"{r['local_searches']}, {r['distinct']}, {r['best_hits']} | {r['probability_best_is_global']:.2f} | "
            f"{r['stop_reason']} |"
        )
    n = len(rows)
    lines += [
        "",
        f"search: within 0.1 % of the best known on {within} of {n}; at most 0.1 % worse than today on "
        f"{not_worse} of {n}; wall / plain median {np.median(ratios):.1f} (today {np.median(today_ratios):.1f})",
        f"calibration: {claimed} searches claimed P >= {confidence}; on {held} of them nothing better is known",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", help="instance names (problem_data_NN_sS)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "results" / "global_search.json"))
    args = parser.parse_args()
    pools = {p["instance"]: p for p in load_pools()}
    out = Path(args.out)
    rows = json.loads(out.read_text()) if out.exists() else []
    for spec in instances():
        name = name_of(spec)
        if name not in pools or (args.only and name not in args.only) or any(r["instance"] == name for r in rows):
            continue
        rows.append(run_instance(spec, args.workers))
        out.write_text(json.dumps(rows, indent=1))
        print(f"done {name}: {rows[-1]['objective']:.6g} in {rows[-1]['wall_s']:.0f} s", flush=True)
    from ocp.run.settings import MultistartSettings

    print(tables(rows, pools, MultistartSettings().confidence or 0.95))


if __name__ == "__main__":
    main()
