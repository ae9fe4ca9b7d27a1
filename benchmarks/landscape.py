"""Record a rich pool of local solves per instance, for replaying search policies against each other.

    OMP_NUM_THREADS=1 python benchmarks/landscape.py collect --processes 2
    python benchmarks/landscape.py table

For every instance: S random starts (start 0 the CLI's guess, controls 0.3 x
N(0, 1) seeded by the instance seed; starts i >= 1 at scale 1.0 seeded by
(seed, i), exactly `ocp.search.multistart.random_starts`), each solved with
first_order, simulate and adam (IPOPT capped at 500 iterations and 300 s,
as the multi-start caps them), plus a continuation in lambda from the first
few starts. Every solve records its objective, success, wall time, IPOPT
iterations and the controls it ended at (for clustering basins). Today's
portfolio is a subset of these solves (starts 0-7 x 3 strategies + one
continuation from start 0) and every new search policy that draws from the
same starts can be replayed on them (`ocp.search` draws them in the same
order), so "today", "the new default" and "the best known" come from one
pool measured under the same conditions.

Instances: A1 (`strategies.pose`) on the project's generators and on kinds
it does not ship (two moons, overlapping Gaussian blobs, a 3x3 checkerboard,
made here from their seeds), a few A2 and B instances, and the default
config itself. Results: results/landscape/*.json, one per instance; a rerun
skips instances already recorded.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

STARTS = 16
CONTINUATION_STARTS = 4
# the portfolio of earlier versions ("today") gave up a solve after patience x the median of all finished
# solves and at least 10 s; the replay keeps that rule (the search now keeps one median per kind, 3 s floor)
TODAY_MIN_PATIENCE_S = 10.0
MAX_ITER, MAX_SECONDS = 500, 300.0


def moons(n: int, seed: int, noise: float = 0.1):
    """Two interleaving half circles (labels -1, +1), as scikit-learn's make_moons draws them."""
    from problems.learning.datasets import Dataset

    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, size=n)
    label = np.where(np.arange(n) < n // 2, -1.0, 1.0)
    x = np.where(label[:, None] < 0, np.stack([np.cos(t), np.sin(t)], 1), np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))
    x = (x - [0.5, 0.25]) / 1.0
    return Dataset(x + noise * rng.normal(size=x.shape), label)


def blobs(n: int, seed: int):
    """Four Gaussian blobs (standard deviation 0.45) at the corners of [-1, 1]^2, labels alternating: they overlap."""
    from problems.learning.datasets import Dataset

    rng = np.random.default_rng(seed)
    centres = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float) * 0.8
    which = rng.integers(0, 4, size=n)
    x = centres[which] + 0.45 * rng.normal(size=(n, 2))
    return Dataset(x, np.where(which % 2 == 0, -1.0, 1.0))


def checkerboard(n: int, seed: int):
    """Points uniform in [-1.5, 1.5]^2 labelled by a 3x3 checkerboard."""
    from problems.learning.datasets import Dataset

    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, size=(n, 2))
    cell = np.floor(x + 1.5).astype(int)
    return Dataset(x, np.where((cell[:, 0] + cell[:, 1]) % 2 == 0, -1.0, 1.0))


EXTRA = {"moons": moons, "blobs": blobs, "checkerboard": checkerboard}


def instances() -> list[tuple[str, str, int, int]]:
    """(problem, data, N, seed)."""
    rows = [("l2", name, 100, seed) for seed in (0, 1, 2) for name in ("annulus", "xor", "spirals")]
    rows += [("l2", name, 100, seed) for seed in (0, 1) for name in ("moons", "blobs", "checkerboard")]
    rows += [("l2", "moons", 200, 0), ("l2", "default", 200, 0)]
    rows += [("turnpike", "xor", 100, 0), ("turnpike", "spirals", 100, 0)]
    rows += [("l1", "spirals", 100, 0), ("l1", "spirals", 100, 4)]
    return rows


def name_of(spec) -> str:
    kind, data, n, seed = spec
    return f"{kind}_{data}_N{n}_s{seed}"


def pose_instance(spec):
    """(problem, method, start-0 guess, solver options) of one instance."""
    from strategies import SCALE, K, pose

    import ocp
    from problems.learning.datasets import generate
    from problems.learning.ensemble import random_controls

    kind, data, n, seed = spec
    tol = {"tol": 1e-10} if kind == "l1" else {}
    options = ocp.SolverOptions(check_optimality=False, max_iter=MAX_ITER, ipopt={"max_wall_time": MAX_SECONDS, **tol})
    if data == "default":
        from ocp.run.solve import read_config

        run, settings, ptype = read_config(str(ROOT / "configs" / "annulus_l2.yaml"))
        setup = ptype.build(settings, run)
        options = ocp.SolverOptions(
            check_optimality=False, max_iter=MAX_ITER, tol=run.solver.tol, ipopt={"max_wall_time": MAX_SECONDS}
        )
        return setup.problem, run.discretisation(), setup.initial_guess, options
    dataset = EXTRA[data](n, seed) if data in EXTRA else generate(data, n, 2, seed=seed)
    problem = pose(kind, dataset)
    guess = ocp.InitialGuess(controls=random_controls(K, problem.nu, SCALE, seed))
    return problem, ocp.MultipleShooting(K=K), guess, options


def collect(spec) -> str:
    import ocp
    from ocp.search.multistart import effective_strategies, random_starts
    from ocp.search.strategies import Initialization, solve_with

    out = HERE / "results" / "landscape" / f"{name_of(spec)}.json"
    if out.exists():
        return f"{name_of(spec)}: recorded already"
    problem, method, guess, options = pose_instance(spec)
    seed = spec[3]
    begin = time.perf_counter()
    solver = ocp.OCPSolver(problem, method, options)
    build_s = time.perf_counter() - begin
    starts = random_starts(guess, method.K, problem.nu, STARTS, 1.0, seed)
    strategies = effective_strategies([Initialization(s) for s in ("first_order", "simulate", "adam")], problem)
    tasks = [(i, s) for i in range(STARTS) for s in strategies]
    tasks += [(i, Initialization("continuation_parameter")) for i in range(CONTINUATION_STARTS)]
    solves = []
    for i, init in tasks:
        t0 = time.perf_counter()
        sol = solve_with(solver, init, initial_guess=starts[i])
        solves.append(
            {
                "start": i,
                "strategy": init.strategy,
                "objective": float(sol.objective),
                "success": bool(sol.success),
                "status": sol.status,
                "iterations": int(sol.iterations),
                "time_s": time.perf_counter() - t0,
                "first_order_s": float(sol.first_order.get("time_s", 0.0)),
                # where the L-BFGS-B / Adam phase ended, before IPOPT: does it predict the final minimum?
                "phase_objective": float(sol.first_order.get("objective_end", float("nan"))),
                "controls": np.asarray(sol.controls).round(8).tolist(),
            }
        )
    # one plain solve from start 0 again, timed alone: the unit every cost is measured in
    t0 = time.perf_counter()
    solve_with(solver, Initialization("simulate"), initial_guess=starts[0])
    plain_s = time.perf_counter() - t0
    record = {"instance": name_of(spec), "spec": list(spec), "build_s": build_s, "plain_s": plain_s, "solves": solves}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record))
    return f"{name_of(spec)}: {len(solves)} solves in {time.perf_counter() - begin:.0f} s"


# ---- replay: search policies on the recorded pools ------------------------------------------------------


def load_pools() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((HERE / "results" / "landscape").glob("*.json"))]


def schedule(solves: list[dict], order: list[int], workers: int, confidence: float | None, patience: float = 10.0):
    """Replay the multi-start's loop (`ocp.search.multistart`) on recorded solves: tasks handed out in ``order`` to
    ``workers`` at a time, patience cutting slow solves, the stopping rule on the finished prefix.
    Returns (kept solve indices, wall seconds, estimate)."""
    from ocp.search.basins import estimate
    from ocp.search.minima import spread

    clock, running, done, durations = 0.0, [], {}, []  # running: (finish time, task position, index)
    queue = list(enumerate(order))
    cutoff = float("inf")

    def census(prefix):
        summary = spread([solves[order[p]]["objective"] for p in range(prefix)], [done[p] for p in range(prefix)])
        return summary["converged"], summary["distinct"]

    while queue or running:
        while queue and len(running) < workers:
            position, index = queue.pop(0)
            running.append([clock + solves[index]["time_s"], position, index, clock])
        running.sort()
        finish, position, index, began = running.pop(0)
        # patience: a solve that would outlast the cutoff stops there and fails
        if finish - began > cutoff:
            finish = began + cutoff
            done[position] = False
        else:
            done[position] = solves[index]["success"]
        clock = max(clock, finish)
        durations.append(finish - began)
        cutoff = max(TODAY_MIN_PATIENCE_S, patience * float(np.median(durations)))
        prefix = 0
        while prefix in done:
            prefix += 1
        if confidence is not None and prefix:
            n, w = census(prefix)
            if n and estimate(n, w).probability_best_is_global >= confidence:
                kept = [order[p] for p in range(prefix) if done[p]]
                return kept, clock, estimate(n, w)
    prefix = len(order)
    n, w = census(prefix)
    return [order[p] for p in range(prefix) if done[p]], clock, estimate(n, w) if n else None


def task_order(pool: dict, n_starts: int, strategies: tuple[str, ...], continuation: bool, permutation=None):
    """Indices of the recorded solves in the multi-start's order without hops (`ocp.search.plan.PortfolioPlan`);
    ``permutation`` renames starts 1.. (another draw of random starts)."""
    from ocp.search.plan import PortfolioPlan
    from ocp.search.strategies import Initialization

    where = {(s["start"], s["strategy"]): j for j, s in enumerate(pool["solves"])}
    have = [Initialization(s) for s in strategies if (0, s) in where]
    first = (
        [Initialization("continuation_parameter")] if continuation and (0, "continuation_parameter") in where else []
    )
    names = list(range(n_starts)) if permutation is None else [0, *permutation[: n_starts - 1]]
    return [where[(names[t.index], t.strategy.strategy)] for t in PortfolioPlan(n_starts, have, first, None).tasks]


PORTFOLIO = ("first_order", "simulate", "adam")


def run_policy(pool: dict, n_starts: int, confidence: float | None, permutation=None, strategies=PORTFOLIO):
    """One replayed multi-start: (best objective, wall / one plain solve, estimate or None)."""
    solves = pool["solves"]
    kept, wall, est = schedule(solves, task_order(pool, n_starts, strategies, True, permutation), 2, confidence)
    best = min((solves[j]["objective"] for j in kept), default=float("inf"))
    return best, wall / pool["plain_s"], est


def gap(value: float, reference: float) -> float:
    return (value - reference) / abs(reference)


def replay(args) -> None:
    """Per instance: best known (every recorded solve), today's portfolio and the search at each confidence;
    then the calibration over random orders of the starts."""
    pools = load_pools()
    header = "| instance | best known | today: gap, x plain | " + " | ".join(
        f"search {c}: gap, x plain, n, w, P" for c in args.confidence
    )
    print(header + " |")
    print("|" + " --- |" * (3 + len(args.confidence)))
    summary = {c: {"x": [], "worse_than_today": 0, "within": 0} for c in args.confidence}
    today_x = []
    for pool in pools:
        best_known = min(s["objective"] for s in pool["solves"] if s["success"])
        today, t_x, _ = run_policy(pool, 8, None)
        today_x.append(t_x)
        cells = [pool["instance"], f"{best_known:.6g}", f"{gap(today, best_known):+.2%}, {t_x:.1f}"]
        for c in args.confidence:
            best, x, est = run_policy(pool, args.starts, c)
            summary[c]["x"].append(x)
            summary[c]["worse_than_today"] += gap(best, today) > 1e-3
            summary[c]["within"] += gap(best, best_known) <= 1e-3
            cells.append(
                f"{gap(best, best_known):+.2%}, {x:.1f}, {est.searches}, {est.distinct}, "
                f"{est.probability_best_is_global:.2f}"
            )
        print("| " + " | ".join(cells) + " |")
    print(f"\ntoday: median {np.median(today_x):.1f} x plain")
    for c, row in summary.items():
        print(
            f"search {c}: median {np.median(row['x']):.1f} x plain; within 0.1 % of best known on {row['within']} "
            f"of {len(pools)}; more than 0.1 % worse than today on {row['worse_than_today']}"
        )
    # calibration: many searches per instance, each with its own random order of starts 1..S-1
    rng = np.random.default_rng(0)
    print("\n| confidence | searches that claimed it | of which nothing better in the pool | within 0.1 % |")
    print("| --- | --- | --- | --- |")
    for c in args.confidence:
        claimed = exact = close = 0
        for pool in pools:
            best_known = min(s["objective"] for s in pool["solves"] if s["success"])
            for _ in range(args.orders):
                order = list(1 + rng.permutation(STARTS - 1))
                best, _, est = run_policy(pool, args.starts, c, order)
                if est is not None and est.probability_best_is_global >= c:
                    claimed += 1
                    exact += gap(best, best_known) <= 1e-6
                    close += gap(best, best_known) <= 1e-3
        print(
            f"| {c} | {claimed} | {exact} ({exact / max(claimed, 1):.0%}) | {close} ({close / max(claimed, 1):.0%}) |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("collect")
    run.add_argument("--processes", type=int, default=2)
    run.add_argument("--only", nargs="*", help="instance names (problem_data_NN_sS) to collect")
    again = sub.add_parser("replay")
    again.add_argument("--confidence", type=float, nargs="+", default=[0.8, 0.9, 0.95])
    again.add_argument("--starts", type=int, default=STARTS, help="the search's budget of starts")
    again.add_argument("--orders", type=int, default=20, help="random orders of the starts per instance")
    args = parser.parse_args()
    if args.command == "replay":
        return replay(args)
    by_name = {name_of(s): s for s in instances()}
    specs = [by_name[name] for name in args.only] if args.only else list(by_name.values())  # --only: its order
    with ProcessPoolExecutor(args.processes, mp_context=get_context("spawn")) as pool:
        for line in pool.map(collect, specs):
            print(line, flush=True)


if __name__ == "__main__":
    main()
