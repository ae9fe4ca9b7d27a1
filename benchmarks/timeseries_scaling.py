"""Time per iteration and memory of a time-series fit against the network's weights and the members.

    OMP_NUM_THREADS=2 python benchmarks/timeseries_scaling.py [--quick]

The fit: the time-series problem type on generated Van der Pol records (100 samples on [0, 10] per member,
75 in the training window, noise 0.02), an MLP 2-w-...-2 with tanh, RK4 at one step per interval, nodes
at the samples. For each size, one process (`isolated.in_child`, its own peak memory) builds the lifted
Gauss-Newton solver (``solver: gauss_newton``) and times one iteration by its parts: the steps' Jacobians,
the condensing and Schur complement, one damped solve. The baseline, in the same run: IPOPT's time per
iteration (exact Hessian, and limited-memory) over 3 iterations, at the sizes it finishes in the time
limit. Exponents are least-squares slopes in log-log; the figure is timeseries_scaling.png.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from isolated import in_child  # noqa: E402

LIMIT_S = 900.0
WIDTHS = {82: [16], 354: [16, 16], 1218: [32, 32], 4482: [64, 64]}  # weights: hidden widths (2 states)
MEMBERS_AT_WIDEST = (4, 16, 64, 256)
MEMBERS_AT_ALL_WIDTHS = 16


def config(widths: list[int], members: int, solver: dict) -> dict:
    return {
        "problem": "timeseries",
        "seed": 0,
        "integrator": "rk4",
        "steps": 1,
        "parallelization": "vectorized",
        "lambda": 1e-6,
        "data": {"source": "van_der_pol", "members": members, "samples": 100, "t_end": 10.0, "noise": 0.02},
        "model": {"kind": "mlp", "widths": widths, "activation": "tanh"},
        "bands": {"level": None},
        "initialization": {"strategy": "simulate"},
        "multistart": {"starts": 1, "extra_strategies": [], "first_start_strategies": []},
        "solver": solver,
    }


def _setup(widths, members, solver):
    from ocp.run.solve import parse_config

    run, settings, ptype = parse_config(config(widths, members, solver))
    setup = ptype.build(settings, run)
    return setup, setup.run


def gauss_newton_iteration(widths: list[int], members: int, queue) -> None:
    from ocp.solvers.gauss_newton import GaussNewton
    from ocp.solvers.ipopt import nlp_parameters
    from ocp.solvers.schur import Condensed

    setup, run = _setup(widths, members, {"name": "gauss_newton"})
    begin = time.perf_counter()
    solver = GaussNewton(setup.problem, run.discretisation(), run.solver.options())
    build = time.perf_counter() - begin
    p = nlp_parameters(setup.problem, {}, run.T, None)
    w = solver._start(setup.initial_guess, {}, run.T, None, None, p)
    H_x, H_theta = solver._hessian_blocks(p)
    parts = {}
    begin = time.perf_counter()
    _, lin = solver._linearise(w, p, H_x, H_theta, True)
    parts["jacobians_s"] = time.perf_counter() - begin
    begin = time.perf_counter()
    condensed = Condensed(lin)
    parts["schur_s"] = time.perf_counter() - begin
    begin = time.perf_counter()
    condensed.step(1e-6 * condensed.scale)
    parts["solve_s"] = time.perf_counter() - begin
    begin = time.perf_counter()
    solver._objective_value(w, p), solver._gaps(w, p)
    parts["trial_point_s"] = time.perf_counter() - begin
    parts["iteration_s"] = sum(parts.values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux reports KiB)
    queue.put({"build_s": build, **parts, "peak_MiB": peak, "variables": int(w.size)})


def ipopt_iterations(widths: list[int], members: int, hessian: str, queue) -> None:
    import ocp

    setup, run = _setup(widths, members, {"max_iter": 3, "hessian": hessian, "check_optimality": False})
    begin = time.perf_counter()
    solver = ocp.OCPSolver(setup.problem, run.discretisation(), run.solver.options())
    build = time.perf_counter() - begin
    solution = solver.solve(T=run.T, initial_guess=setup.initial_guess, first_order_iterations=0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"build_s": build, "iteration_s": solution.solve_time_s / max(1, solution.iterations), "peak_MiB": peak})


def slope(x, y) -> float:
    x, y = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return float(np.polyfit(x, y, 1)[0]) if len(x) > 1 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="weights up to 1218 and members up to 64")
    parser.add_argument("--out", default=str(HERE / "results" / "timeseries_scaling.json"))
    parser.add_argument("--report", help="only print the table and draw the figure of this JSON (an earlier --out)")
    args = parser.parse_args()
    if args.report:
        rows = json.loads(Path(args.report).read_text())
        report(rows, max(r["weights"] for r in rows))
        return
    weights = [w for w in WIDTHS if not args.quick or w <= 1218]
    members = [m for m in MEMBERS_AT_WIDEST if not args.quick or m <= 64]
    widest = max(weights)
    rows = []
    sizes = [(w, MEMBERS_AT_ALL_WIDTHS) for w in weights] + [(widest, m) for m in members if m != MEMBERS_AT_ALL_WIDTHS]
    for n_weights, n_members in sizes:
        widths = WIDTHS[n_weights]
        row = {"weights": n_weights, "members": n_members}
        row["gauss_newton"] = in_child(gauss_newton_iteration, (widths, n_members), LIMIT_S)
        for hessian in ("exact", "limited_memory"):
            small = n_weights <= 354 and n_members <= 16 if hessian == "exact" else n_members <= 16
            row[f"ipopt_{hessian}"] = (
                in_child(ipopt_iterations, (widths, n_members, hessian), LIMIT_S) if small else {"failed": "not run"}
            )
        rows.append(row)
        print(json.dumps(row), flush=True)
    report(rows, widest)
    Path(args.out).parent.mkdir(exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=1))


def report(rows: list[dict], widest: int) -> None:
    print(
        "\n| weights | members | GN build s | GN s/iteration (Jacobians / Schur / solve / trial) | GN peak MiB |"
        " IPOPT exact s/it | IPOPT L-BFGS s/it |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        g = r["gauss_newton"]
        if "failed" in g:
            gn = f"| {g['failed']} | | "
        else:
            gn = (
                f"| {g['build_s']:.1f} | {g['iteration_s']:.2f} ({g['jacobians_s']:.2f} / {g['schur_s']:.2f} / "
                f"{g['solve_s']:.2f} / {g['trial_point_s']:.2f}) | {g['peak_MiB']:.0f} "
            )
        ip = [r[k].get("failed") or f"{r[k]['iteration_s']:.2f}" for k in ("ipopt_exact", "ipopt_limited_memory")]
        print(f"| {r['weights']} | {r['members']} {gn}| {ip[0]} | {ip[1]} |")
    by_weights = [r for r in rows if r["members"] == MEMBERS_AT_ALL_WIDTHS and "failed" not in r["gauss_newton"]]
    by_members = [r for r in rows if r["weights"] == widest and "failed" not in r["gauss_newton"]]
    for name, subset, key in (("weights", by_weights, "weights"), ("members", by_members, "members")):
        x = [r[key] for r in subset]
        for part in ("iteration_s", "jacobians_s", "schur_s", "solve_s", "peak_MiB"):
            print(f"exponent of GN {part} in {name}: {slope(x, [r['gauss_newton'][part] for r in subset]):.2f}")
    plot(by_weights, by_members, widest)


def plot(by_weights: list[dict], by_members: list[dict], widest: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, subset, key in ((axes[0], by_weights, "weights"), (axes[1], by_members, "members")):
        subset = sorted(subset, key=lambda r: r[key])
        x = [r[key] for r in subset]
        for part, style in (("iteration_s", "o-"), ("jacobians_s", "s--"), ("schur_s", "^--"), ("solve_s", "v--")):
            ax.loglog(x, [r["gauss_newton"][part] for r in subset], style, label=f"Gauss-Newton {part[:-2]}")
        for hessian in ("exact", "limited_memory"):
            done = [
                (r[key], r[f"ipopt_{hessian}"]["iteration_s"]) for r in subset if "failed" not in r[f"ipopt_{hessian}"]
            ]
            if done:
                ax.loglog(
                    *zip(*done, strict=True), "k" + ("x:" if hessian == "exact" else "+:"), label=f"IPOPT {hessian}"
                )
        ax.set_xlabel(key + (f" ({MEMBERS_AT_ALL_WIDTHS} members)" if key == "weights" else f" ({widest} weights)"))
        ax.set_ylabel("seconds per iteration")
        ax.legend(fontsize=7)
    fig.suptitle("time-series fit: time per iteration (2 cores)")
    fig.tight_layout()
    fig.savefig(HERE / "timeseries_scaling.png", dpi=120)


if __name__ == "__main__":
    main()
