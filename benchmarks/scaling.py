"""How the toolkit's time grows with N on "annulus-L2", and what a second solve of the same shape costs.

    python benchmarks/scaling.py --sizes 100 400 1000 3000 [--authors] [--methods toolkit,toolkit-plain]

Part 1: every (method, N) runs in its own process (`compare_peers.measure`);
the IPOPT time per iteration (the solve's wall time less the first-order
start) is fitted as C N^a by log-log least squares, one exponent per method.
--authors adds the authors' setting N = 3000, T = 15, K = 15.

Part 2 (--reuse N): one `OCPSolver` built at size N, then solves for other
T and lambda without rebuilding; reports build time against each solve.

Results: JSON (--out) and a log-log plot of time per iteration (--plot).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # reference_problem, peers, compare_peers

import numpy as np  # noqa: E402
from compare_peers import measure  # noqa: E402
from reference_problem import instance  # noqa: E402


def per_iteration(row: dict) -> float | None:
    if not row.get("iterations") or row.get("ipopt_s") is None:
        return None
    return row["ipopt_s"] / row["iterations"]


def fit_exponent(sizes: list[int], times: list[float]) -> dict:
    """Least squares of log t = log C + a log N; a and R^2."""
    x, y = np.log(sizes), np.log(times)
    a, logc = np.polyfit(x, y, 1)
    residual = y - (a * x + logc)
    r2 = 1.0 - float(residual @ residual) / float(((y - y.mean()) ** 2).sum()) if len(x) > 2 else 1.0
    return {"exponent": float(a), "C": float(np.exp(logc)), "r2": r2}


def reuse(N: int) -> dict:
    """Build once at size N, then solve at (T, lambda) = (5, 1e-3), (6, 1e-3), (5, 2e-3)."""
    import ocp
    from problems.learning.datasets import Dataset
    from problems.learning.l2 import l2_problem
    from problems.learning.networks import NetworkDynamics

    inst = instance(N, 20)
    start = time.perf_counter()
    problem, _ = l2_problem(Dataset(inst.X, inst.y), NetworkDynamics("inside", "tanh"), T=inst.T, lam=inst.lam)
    solver = ocp.OCPSolver(problem, ocp.MultipleShooting(K=inst.K))
    build = time.perf_counter() - start
    solves = []
    for T, lam in ((5.0, 1e-3), (6.0, 1e-3), (5.0, 2e-3)):
        start = time.perf_counter()
        sol = solver.solve(T=T, parameters={"lambda": lam}, initial_guess=ocp.InitialGuess(controls=inst.U0))
        wall = time.perf_counter() - start
        solves.append({"T": T, "lambda": lam, "wall_s": wall, "iterations": sol.iterations, "objective": sol.objective})
    return {"N": N, "build_s": build, "solves": solves}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 400, 1000, 3000])
    parser.add_argument("--methods", default="toolkit,toolkit-plain")
    parser.add_argument("--authors", action="store_true", help="add the authors' setting N=3000, T=15, K=15")
    parser.add_argument("--reuse", type=int, default=0, metavar="N", help="also measure reuse of one build at N")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/scaling.json"))
    parser.add_argument("--plot", type=Path, default=Path("benchmarks/scaling_time_per_iteration.png"))
    args = parser.parse_args()
    methods = args.methods.split(",")
    print(f"machine: {platform.machine()}, python {platform.python_version()}; {time.strftime('%Y-%m-%d')}")
    results: dict = {"machine": platform.platform(), "sizes": args.sizes, "runs": {}, "fits": {}}
    for method in methods:
        rows = []
        for N in args.sizes:
            row = measure(method, instance(N, 20), repeat=1, targets={}, budget_s=0.0)
            row["N"] = N
            rows.append(row)
            print(_line(method, f"N={N} K=20 T=5", row), flush=True)
        results["runs"][method] = rows
        points = [(r["N"], per_iteration(r)) for r in rows if per_iteration(r)]
        if len(points) >= 2:
            results["fits"][method] = fit_exponent(*zip(*points, strict=True))
            fit = results["fits"][method]
            print(f"{method}: IPOPT time per iteration ~ N^{fit['exponent']:.2f} (R^2 {fit['r2']:.3f})")
    if args.authors:
        row = measure("toolkit", instance(3000, 15, T=15.0), repeat=1, targets={}, budget_s=0.0)
        results["authors"] = row
        print(_line("toolkit", "authors N=3000 K=15 T=15", row), flush=True)
    if args.reuse:
        results["reuse"] = reuse(args.reuse)
        r = results["reuse"]
        for s in r["solves"]:
            print(
                f"reuse N={r['N']}: build {r['build_s']:.2f}s once; T={s['T']:g} lambda={s['lambda']:g}: "
                f"solve {s['wall_s']:.2f}s ({s['iterations']} its, objective {s['objective']:.6f})"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, default=str))
    _plot(results, args.plot)
    print(f"wrote {args.out} and {args.plot}")


def _line(method: str, label: str, r: dict) -> str:
    if "build_s" not in r:
        return f"{label:>26} {method:>14}  {r['status']}"
    per_it = per_iteration(r)
    return (
        f"{label:>26} {method:>14} build {r['build_s']:7.2f}s solve {r['solve_s']:8.2f}s "
        f"(first-order {r.get('first_order_s', 0.0):.2f}s) it {r['iterations']:4d} "
        f"per it {per_it if per_it is None else f'{per_it:.3f}s'} cost {r['cost']:.6f} "
        f"rss {r['peak_rss_mb']:.0f}MB {r['status']}"
    )


def _plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    for method, rows in results["runs"].items():
        points = [(r["N"], per_iteration(r)) for r in rows if per_iteration(r)]
        if not points:
            continue
        sizes, times = zip(*points, strict=True)
        label = method
        if method in results["fits"]:
            fit = results["fits"][method]
            label += f" (~N^{fit['exponent']:.2f})"
            ax.loglog(sizes, fit["C"] * np.asarray(sizes, float) ** fit["exponent"], ":", color="grey")
        ax.loglog(sizes, times, "o-", label=label)
    ax.set(xlabel="N (data points)", ylabel="IPOPT wall time per iteration [s]", title="annulus-L2, K = 20")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
