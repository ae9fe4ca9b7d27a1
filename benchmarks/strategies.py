"""Which start finds the best optimum: every initialisation strategy on a set of learning problems.

    OMP_NUM_THREADS=1 python benchmarks/strategies.py [--quick] [--processes 2] [--problem l2|turnpike|l1]

Instances: problem A1 (`problems.learning.l2`: inside dynamics, tanh, squared loss on
tanh(x_1(T)), T = 5, K = 20, lambda = 1e-3) on the annulus, XOR and
two-spirals sets, N in {100, 400} x seeds {0, 1, 2}, plus N = 1000 on annulus
and spirals (seed 0): 20 instances. ``--problem turnpike`` / ``l1``: A2 and B
as in the shipped configs (T = 10, K = 20, lambda = 1e-2, output identity;
l1 at IPOPT tol 1e-10) on the three sets, N = 100, seeds {0, 1}. The start
is the CLI's: controls 0.3 x N(0, 1) seeded by the instance seed, states
simulated.

Methods, each from that start:
- IPOPT strategies (`ocp.search.strategies`): first_order, adam, simulate (plain
  IPOPT), coarse_grid, continuation_T, continuation_lambda;
- multi-start (`ocp.search.multistart`, scale 1.0): best of 4 and of 8 starts with
  first_order, the same with simulate and with adam (each start capped at
  START_MAX_ITER IPOPT iterations, as a multi-start caps them), and the
  portfolios (PORTFOLIOS: every start solved with each member strategy, the
  CLI's default among them) on the same 4 or 8 starts; the starts are solved
  one after another here (time = their sum; with W workers the wall time is
  about sum / W);
- references: scipy L-BFGS-B run to convergence on the condensed objective
  (3000 iterations at most), PyTorch L-BFGS (20 s budget) and Adam (10 s).

On l1 the first-order phase cannot run (slack constraints), so first_order
and adam are the simulate solve (`ocp.search.multistart.effective_strategies`) and
are not run again; there is no first-order reference either (scipy needs
the phase, the PyTorch model is A1's), so l1 compares IPOPT strategies
only. Turnpike has scipy L-BFGS-B but no PyTorch reference.

Each instance runs in its own process. Re-running resumes: methods already in
the results file are not run again. For every method: final cost relative
to the best cost any method found on that instance, and time. Writes
results/strategies.json and prints the table for benchmarks/README.md.
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
sys.path.insert(0, str(HERE))  # peers

T, K, LAM, SCALE = 5.0, 20, 1e-3, 0.3
MULTISTART = (4, 8)
PER_START = {"first_order": "multistart", "simulate": "simulate multistart", "adam": "adam multistart"}
PORTFOLIOS = {  # every start solved with each member strategy
    "first_order + simulate": ("first_order", "simulate"),
    "first_order + adam": ("first_order", "adam"),
    "adam + simulate": ("adam", "simulate"),
    "first_order + adam + simulate": ("first_order", "adam", "simulate"),
}
DEFAULT_PORTFOLIO = "first_order + adam + simulate"  # the CLI's (`MultistartSettings`)
PREVIOUS_DEFAULT = "first_order + simulate x 8"
START_MAX_ITER = 500  # IPOPT iterations per start of a multi-start (`MultistartSettings.max_iter`)
MAX_SECONDS = 300.0  # wall time per IPOPT solve (`MultistartSettings.max_seconds`); rows measured before the
# cap existed are capped when the table is made (`capped`)


def instances(quick: bool, held_out: bool = False, problem: str = "l2") -> list[tuple[str, int, int]]:
    if problem != "l2":
        seeds = (3, 4) if held_out else (0, 1)
        return [(name, 100, seed) for seed in seeds for name in ("annulus", "xor", "spirals")]
    if quick:
        return [(name, 100, 0) for name in ("annulus", "xor", "spirals")]
    if held_out:  # seeds the default portfolio was not chosen on
        return [(name, 100, seed) for seed in (3, 4) for name in ("annulus", "xor", "spirals")]
    full = [(name, n, seed) for n in (100, 400) for seed in (0, 1, 2) for name in ("annulus", "xor", "spirals")]
    return full + [("annulus", 1000, 0), ("spirals", 1000, 0)]


def pose(kind: str, data):
    """The learning problem of regularisation ``kind`` on ``data`` (settings as in the module docstring)."""
    from problems.learning.l1 import l1_problem
    from problems.learning.l2 import l2_problem
    from problems.learning.networks import NetworkDynamics
    from problems.learning.turnpike import turnpike_problem

    dynamics = NetworkDynamics("inside", "tanh")
    if kind == "l2":
        return l2_problem(data, dynamics, T=T, lam=LAM)[0]
    if kind == "turnpike":
        return turnpike_problem(data, dynamics, T=10.0, lam=1e-2, output="identity")[0]
    return l1_problem(data, dynamics, T=10.0, lam=1e-2, output="identity")[0]


def run_instance(spec: tuple[str, int, int], done: dict | None = None, kind: str = "l2") -> dict:
    """Every method on one instance; methods already in ``done`` (an earlier run's result) are not run again."""
    import ocp
    from ocp.search.multistart import random_starts
    from ocp.search.strategies import PHASE_STRATEGIES, Initialization, solve_with
    from ocp.solvers.first_order import inapplicable_reason
    from problems.learning.datasets import generate
    from problems.learning.ensemble import random_controls

    name, n, seed = spec
    data = generate(name, n, 2, seed=seed)
    problem = pose(kind, data)
    U0 = random_controls(K, problem.nu, SCALE, seed)
    guess = ocp.InitialGuess(controls=U0)
    method = ocp.MultipleShooting(K=K)
    build = time.perf_counter()
    wall = {"max_wall_time": MAX_SECONDS}  # every IPOPT solve, as the CLI's multi-start caps them
    if kind == "l1":
        wall["tol"] = 1e-10  # the shipped config's: exact zeros
    no_phase = bool(inapplicable_reason(problem))  # first_order and adam are then the simulate solve
    solver = ocp.OCPSolver(problem, method, ocp.SolverOptions(check_optimality=False, ipopt=wall))
    build = time.perf_counter() - build
    rows: dict[str, dict] = dict((done or {}).get("methods", {}))

    def timed(run) -> dict:
        start = time.perf_counter()
        sol = run()
        return {
            "cost": sol.objective,
            "success": sol.success,
            "iterations": sol.iterations,
            "time_s": time.perf_counter() - start,
        }

    inits = {
        "first_order": Initialization("first_order"),
        "adam": Initialization("adam"),
        "simulate": Initialization("simulate"),
        "coarse_grid": Initialization("coarse_grid"),
        "continuation_T": Initialization("continuation_T"),
        "continuation_lambda": Initialization("continuation_parameter", parameter="lambda"),
    }
    for label, init in inits.items():
        if label not in rows and not (no_phase and label in PHASE_STRATEGIES):
            rows[label] = timed(lambda init=init: solve_with(solver, init, initial_guess=guess))
    starts = random_starts(guess, K, problem.nu, max(MULTISTART), 1.0, seed)
    # first_order starts, IPOPT's default iteration cap (the earlier default)
    if "multistart 8" not in rows and not no_phase:
        singles = [rows["first_order"]]  # start 0 is the base guess: the strategy's own row
        for start in starts[1:]:
            singles.append(timed(lambda start=start: solve_with(solver, inits["first_order"], initial_guess=start)))
        rows |= multistart_rows("multistart", singles)
    # simulate and adam starts, capped as in a multi-start, by one solver built for both
    todo = [s for s in ("simulate", "adam") if f"{PER_START[s]} 8" not in rows]
    todo = [s for s in todo if not (no_phase and s in PHASE_STRATEGIES)]
    if todo:
        options = ocp.SolverOptions(check_optimality=False, max_iter=START_MAX_ITER, ipopt=wall)
        start_solver = ocp.OCPSolver(problem, method, options)
        for strategy in todo:
            init = inits[strategy]
            singles = [timed(lambda s=s, i=init: solve_with(start_solver, i, initial_guess=s)) for s in starts]
            rows |= multistart_rows(PER_START[strategy], singles)
    if "scipy L-BFGS-B" not in rows and not no_phase:
        rows |= references(solver, problem, data, U0, guess, torch=kind == "l2")
    print(f"done {name} N={n} seed={seed}", flush=True)
    return {"dataset": name, "N": n, "seed": seed, "build_s": (done or {}).get("build_s", build), "methods": rows}


def multistart_rows(prefix: str, singles: list[dict]) -> dict[str, dict]:
    """The best of the first m starts for every m in MULTISTART, with every start's own row."""
    rows = {}
    for m in MULTISTART:
        ok = [r for r in singles[:m] if r["success"]]
        rows[f"{prefix} {m}"] = {
            "cost": min(r["cost"] for r in ok) if ok else float("nan"),
            "success": bool(ok),
            "time_s": sum(r["time_s"] for r in singles[:m]),
            "costs": [r["cost"] for r in singles[:m]],
            "succeeded": [r["success"] for r in singles[:m]],
            "starts": singles[:m],
        }
    return rows


def capped(row: dict) -> dict:
    """A row as the wall-time cap would have left it: a solve over MAX_SECONDS stops there and fails."""
    if row.get("time_s", 0.0) <= MAX_SECONDS or "costs" in row:  # multi-start rows: capped start by start
        return row
    return {**row, "success": False, "time_s": MAX_SECONDS}


def with_portfolios(result: dict) -> dict:
    """Adds the portfolios (every start solved with several strategies) and every method's gap to the best.

    A portfolio's members are rows already measured, so its cost is their minimum and its time their sum
    (solves are deterministic, so solving them again as one multi-start gives the same points)."""
    rows = {label: capped(row) for label, row in result["methods"].items()}
    for prefix in PER_START:  # per-start rows: cap each start, then re-aggregate
        if "starts" in rows.get(f"{prefix} {max(MULTISTART)}", {}):
            rows |= multistart_rows(prefix, [capped(r) for r in rows[f"{prefix} {max(MULTISTART)}"]["starts"]])
    for name, members in PORTFOLIOS.items():
        if any(f"{PER_START[strategy]} {max(MULTISTART)}" not in rows for strategy in members):
            continue  # l1: first_order and adam are the simulate solve, so no portfolio differs from it
        for m in MULTISTART:
            parts = [rows[f"{PER_START[strategy]} {m}"] for strategy in members]
            costs = [r["cost"] for r in parts if r["success"]]  # each the best of its converged starts
            rows[f"{name} x {m}"] = {
                "cost": min(costs) if costs else float("nan"),
                "success": bool(costs),
                "time_s": sum(r["time_s"] for r in parts),
            }
    finite = [r["cost"] for r in rows.values() if r["success"] and np.isfinite(r["cost"])]
    best = min(finite)
    for r in rows.values():
        r["gap"] = (r["cost"] - best) / best if r["success"] else None
    return {**result, "best": best, "methods": rows}


def patience_replay(results: list[dict], patience: float = 10.0, floor_s: float = 10.0) -> str:
    """The default portfolio as `ocp.search.multistart`'s ``patience`` would have cut it, replayed on the recorded
    solve times: a simulate or adam solve longer than max(floor, patience x the median of the instance's
    24 solve times) is dropped and costs that cutoff. An approximation: the multi-start uses the running
    median of the solves finished so far, and first_order solves count at their mean (only their sum is
    recorded)."""
    dropped = lost = timed = 0
    before = after = 0.0
    for r in results:
        m = r["methods"]
        rows = [m[k] for k in ("simulate multistart 8", "adam multistart 8") if k in m]
        per_start = [capped(s) for row in rows for s in row["starts"]]
        first = m.get("multistart 8", {"time_s": 0.0, "costs": []})  # absent on l1 (no first-order phase)
        first_order = [first["time_s"] / 8] * len(first["costs"])
        times = [s["time_s"] for s in per_start] + first_order
        cut = max(floor_s, patience * float(np.median(times)))
        kept = [s["cost"] for s in per_start if s["success"] and s["time_s"] <= cut]
        kept += [c for c, ok in zip(first["costs"], first.get("succeeded", [True] * 8), strict=False) if ok]
        timed += len(per_start)
        dropped += sum(s["time_s"] > cut for s in per_start)
        default = min([s["cost"] for s in per_start if s["success"]] + kept)
        lost += min(kept) > default * (1 + 1e-3)  # patience made the default's result worse
        before += sum(times)
        after += sum(min(t, cut) for t in times)
    return (
        f"patience {patience:g} (replayed): {dropped} of {timed} simulate/adam solves dropped, "
        f"{lost} of {len(results)} instances end worse than without patience, "
        f"portfolio time {before:.0f} s -> {after:.0f} s"
    )


def references(solver, problem, data, U0, guess, torch: bool = True) -> dict[str, dict]:
    from peers import torch_baseline

    out = {}
    # scipy L-BFGS-B to convergence: the toolkit's first-order phase with a large iteration cap.
    phase = solver._condensed_phase()
    p = solver._nlp_parameters({}, None, None)
    lbx, ubx = solver._bounds(None)
    w0 = solver._start(guess, {}, None, None, None)
    start = time.perf_counter()
    _, report = phase.run(w0, lbx, ubx, p, 3000)
    out["scipy L-BFGS-B"] = {
        "cost": report.objective_end,
        "success": True,
        "iterations": report.iterations,
        "time_s": time.perf_counter() - start,
    }
    X, y = data.x, data.y.ravel()
    for method, budget in (("lbfgs", 20.0), ("adam", 10.0)) if torch else ():
        r = torch_baseline.train(
            X, y, U0, T=T, K=K, lam=LAM, method=method, targets={}, max_iters=10**6, time_budget_s=budget
        )
        out[f"PyTorch {method}"] = {
            "cost": r["best_cost"],
            "success": True,
            "iterations": r["iterations"],
            "time_s": r["wall_s"],
        }
    return out


def table(results: list[dict]) -> str:
    """Per method: how often within 0.1 % / 1 % of the best, gaps, and time, also as a multiple of one
    plain IPOPT solve (``simulate``) of the same instance (sums over starts: wall time is about sum / W)."""
    labels = list(results[0]["methods"])
    lines = [
        "| method | within 0.1 % | within 1 % | median gap | worst gap | median time s | time / one IPOPT solve |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label in labels:
        gaps = np.array(
            [r["methods"][label]["gap"] if r["methods"][label]["gap"] is not None else np.inf for r in results]
        )
        times = np.array([r["methods"][label]["time_s"] for r in results])
        ratio = np.median(times / np.array([r["methods"]["simulate"]["time_s"] for r in results]))
        lines.append(
            f"| {label} | {np.mean(gaps <= 1e-3):.0%} | {np.mean(gaps <= 1e-2):.0%} | {np.median(gaps):.2%} | "
            f"{gaps.max():.1%} | {np.median(times):.2f} | {ratio:.1f} |"
        )
    return "\n".join(lines)


def instance_table(results: list[dict]) -> str:
    """Per instance: best cost, who found it, and the gaps of one start, 8 starts and the default portfolio."""
    lines = [
        f"| instance | best cost | found by | first_order | multistart 8 | {PREVIOUS_DEFAULT} "
        "| default (on l1: simulate x 8) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        m = r["methods"]
        found = [
            k
            for k, v in m.items()
            if v["gap"] is not None and v["gap"] <= 1e-9 and not any(k.startswith(f"{p} x") for p in PORTFOLIOS)
        ]
        default = f"{DEFAULT_PORTFOLIO} x 8" if f"{DEFAULT_PORTFOLIO} x 8" in m else "simulate multistart 8"
        labels = ("first_order", "multistart 8", PREVIOUS_DEFAULT, default)
        gaps = [m[k]["gap"] if k in m else "-" for k in labels]  # "-": not run (l1: no first-order phase)
        cells = " | ".join("-" if g == "-" else "failed" if g is None else f"{g:.1%}" for g in gaps)
        lines.append(f"| {r['dataset']} N={r['N']} seed {r['seed']} | {r['best']:.6f} | {', '.join(found)} | {cells} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="three N = 100 instances")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--held-out", action="store_true", help="six N = 100 instances (seeds 3, 4) not used to choose the default"
    )
    parser.add_argument("--max-n", type=int, default=None, help="leave out instances with more points")
    parser.add_argument("--seed", type=int, default=None, help="only the instances of this seed")
    parser.add_argument("--dataset", default=None, help="only the instances of this data set")
    parser.add_argument("--problem", choices=("l2", "turnpike", "l1"), default="l2", help="the regularisation")
    parser.add_argument("--out", default=None, help="results file (default results/strategies[_PROBLEM].json)")
    args = parser.parse_args()
    suffix = "" if args.problem == "l2" else f"_{args.problem}"
    args.out = args.out or str(HERE / "results" / f"strategies{suffix}.json")
    specs = instances(args.quick, args.held_out, args.problem)
    specs = [spec for spec in specs if args.max_n is None or spec[1] <= args.max_n]
    specs = [spec for spec in specs if args.seed is None or spec[2] == args.seed]
    specs = [spec for spec in specs if args.dataset is None or spec[0] == args.dataset]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Resume: an earlier run's instances keep their rows; only methods they lack are run.
    earlier = {(r["dataset"], r["N"], r["seed"]): r for r in json.loads(out.read_text())} if out.exists() else {}
    results = dict(earlier)
    start = time.perf_counter()
    with ProcessPoolExecutor(args.processes, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_instance, spec, earlier.get(spec), args.problem) for spec in specs]
        for future in futures:  # written after each instance: a cut-off run keeps its part
            r = future.result()
            results[(r["dataset"], r["N"], r["seed"])] = r
            out.write_text(json.dumps(list(results.values()), indent=1, default=float))
    print(f"{len(specs)} instances in {time.perf_counter() - start:.0f} s; wrote {out}")
    finished = [with_portfolios(results[spec]) for spec in specs if spec in results]
    print(table(finished))
    print(instance_table(finished))
    print(patience_replay(finished))


if __name__ == "__main__":
    main()
