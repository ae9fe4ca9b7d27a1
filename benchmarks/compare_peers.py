"""Side-by-side: this project against a hand-written Opti script, rockit and PyTorch on "annulus-L2".

    python benchmarks/compare_peers.py --sizes 100 400 --K 20 [--authors] [--methods ...] [--repeat 3]

Every (method, size) runs in a fresh process, so peak memory (ru_maxrss) is its
own; all methods start from the same data and initial controls; every final
cost is recomputed by `reference_problem.cost` (plain numpy). Ratios are taken
against this project's default in the same run. Results: a table on stdout,
JSON (--out) and a log-log plot of time against N per method (--plot).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # reference_problem, peers

import numpy as np  # noqa: E402
from reference_problem import Instance, cost, forward, instance  # noqa: E402

METHODS = ("toolkit", "toolkit-plain", "toolkit-expanded", "opti", "rockit", "torch-lbfgs", "torch-adam")
SHORT_RUN_S = 30.0  # runs shorter than this are repeated (--repeat) and the median kept


def _child(method: str, inst: Instance, targets: dict, budget_s: float, queue: mp.Queue) -> None:
    try:
        queue.put(_run(method, inst, targets, budget_s))
    except ImportError as err:
        queue.put({"status": f"not installed ({err.name})"})
    except Exception as err:  # report, do not take the whole benchmark down
        queue.put({"status": f"error: {type(err).__name__}: {err}"})


def _run(method: str, inst: Instance, targets: dict, budget_s: float) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    baseline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if method.startswith("toolkit"):
        from peers import toolkit

        option_set = "default" if method == "toolkit" else method.split("-", 1)[1]
        out = toolkit.solve(inst.X, inst.y, inst.U0, T=inst.T, lam=inst.lam, option_set=option_set)
    elif method == "opti":
        from peers import opti_baseline

        out = opti_baseline.solve(inst.X, inst.y, inst.U0, forward(inst, inst.U0), T=inst.T, lam=inst.lam)
    elif method == "rockit":
        from peers import rockit_baseline

        out = rockit_baseline.solve(inst.X, inst.y, inst.U0, T=inst.T, K=inst.K, lam=inst.lam)
        out["build_s"] = out.pop("setup_s")
    else:
        from peers import torch_baseline

        algo = method.split("-", 1)[1]
        res = torch_baseline.train(
            inst.X,
            inst.y,
            inst.U0,
            T=inst.T,
            K=inst.K,
            lam=inst.lam,
            method=algo,
            targets=targets,
            max_iters=10**7,
            time_budget_s=budget_s,
        )
        out = {
            "build_s": 0.0,
            "solve_s": res["wall_s"],
            "iterations": res["iterations"],
            "status": res["stop_reason"],
            "best_cost": res["best_cost"],
            "time_to": res["time_to"],
            "threads": res["threads"],
            "controls": np.asarray(res["U"]),
        }
    if out.get("controls") is not None:
        out["cost"] = cost(inst, np.asarray(out.pop("controls")))
    out.pop("controls", None)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["rss_over_import_mb"] = out["peak_rss_mb"] - baseline_rss / 1024
    return out


def run_isolated(method: str, inst: Instance, targets: dict | None = None, budget_s: float = 60.0) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(method, inst, targets or {}, budget_s, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def measure(method: str, inst: Instance, repeat: int, targets: dict, budget_s: float) -> dict:
    runs = [run_isolated(method, inst, targets, budget_s)]
    while len(runs) < repeat and "build_s" in runs[0] and runs[0]["build_s"] + runs[0]["solve_s"] < SHORT_RUN_S:
        runs.append(run_isolated(method, inst, targets, budget_s))
    if "build_s" not in runs[0]:
        return runs[0]
    out = dict(runs[0])
    for key in ("build_s", "solve_s", "peak_rss_mb"):
        out[key] = statistics.median(r[key] for r in runs)
    out["runs"] = len(runs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--K", type=int, nargs="+", default=[20])
    parser.add_argument("--authors", action="store_true", help="add the authors' setting N=3000, T=15, K=15")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=60.0, help="PyTorch time budget per run, seconds")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/peers.json"))
    parser.add_argument("--plot", type=Path, default=Path("benchmarks/peers_time_vs_N.png"))
    args = parser.parse_args()
    methods = args.methods.split(",")
    cases = [instance(n, k) for k in args.K for n in args.sizes]
    if args.authors:
        cases.append(instance(3000, 15, T=15.0))
    print(
        f"machine: {platform.machine()}, {mp.cpu_count()} cores, python {platform.python_version()}; "
        f"{time.strftime('%Y-%m-%d')}"
    )
    results = []
    for inst in cases:
        rows = {}
        for method in methods:
            targets = {}
            if method.startswith("torch") and "toolkit" in rows and "cost" in rows["toolkit"]:
                best = rows["toolkit"]["cost"]
                targets = {"1%": best * 1.01, "0.1%": best * 1.001}
            rows[method] = measure(method, inst, args.repeat, targets, args.budget)
            print(_line(inst, method, rows[method], rows.get("toolkit")), flush=True)
        results.append({"N": inst.N, "K": inst.K, "T": inst.T, "rows": rows})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "results": results}, indent=1, default=str))
    _plot(results, args.plot)
    print(f"wrote {args.out} and {args.plot}")


def _line(inst: Instance, method: str, r: dict, base: dict | None) -> str:
    if "build_s" not in r:
        return f"{inst.label:>18} {method:>17}  {r['status']}"
    total = r["build_s"] + r["solve_s"]
    ratio = ""
    if base and "build_s" in base and method != "toolkit":
        ratio = f" x{total / (base['build_s'] + base['solve_s']):.2f} of toolkit"
    extra = f" cost {r['cost']:.6f}"
    if "time_to" in r:
        extra += f" best {r['best_cost']:.6f} time_to {r['time_to']}"
    return (
        f"{inst.label:>18} {method:>17} build {r['build_s']:7.2f}s solve {r['solve_s']:8.2f}s "
        f"it {r['iterations']:6d}{extra} rss {r['peak_rss_mb']:.0f}MB {r['status']}{ratio}"
    )


def _plot(results: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for K in sorted({r["K"] for r in results}):
        same_K = [r for r in results if r["K"] == K and r["T"] == 5.0]
        for method in same_K[0]["rows"] if same_K else []:
            pts = [
                (r["N"], r["rows"][method]["build_s"] + r["rows"][method]["solve_s"])
                for r in same_K
                if "build_s" in r["rows"][method] and not method.startswith("torch")
            ]
            if pts:
                ax.loglog(*zip(*pts, strict=True), "o-", label=f"{method} K={K}")
    ax.set(xlabel="N (data points)", ylabel="build + solve time [s]", title="annulus-L2: time to a KKT point")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
