"""Time per IPOPT iteration and Hessian nonzeros against the number of weights: collocation against RK4
multiple shooting on the time-series fit.

    OMP_NUM_THREADS=1 python benchmarks/collocation_weights.py [--widths 16 16,16 32,32 64,64] [--iterations 6]

The instance is `configs/timeseries_van_der_pol.yaml` (4 trajectories, 75 training samples each) with the
MLP's hidden widths varied: [16] (82 weights, as shipped), [16, 16] (354), [32, 32] (1218), [64, 64]
(4482, the diffrax example's network). For each, both transcriptions are built and IPOPT runs a fixed
number of iterations with the exact Hessian from the shipped start; reported: build seconds, seconds
per iteration (IPOPT's wall time over the iterations, the first evaluation included), the number of
nonzeros of the Lagrangian's Hessian (IPOPT's own count), the share of the solve spent evaluating that
Hessian, and the peak memory of the process. Each row
runs in its own process with a time limit (LIMIT_S), so a transcription that cannot handle a size
says so instead of stopping the table. The exponents are fitted over the sizes both completed.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from isolated import in_child  # noqa: E402

CONFIG = HERE.parent / "configs" / "timeseries_van_der_pol.yaml"
LIMIT_S = 900.0


def measure(widths: list[int], kind: str, iterations: int, queue) -> None:
    import ocp
    from ocp.run.solve import parse_config

    data = yaml.safe_load(CONFIG.read_text())
    data["model"]["widths"] = widths
    if kind == "collocation":  # one element of 3 Radau points per interval (the config's steps are RK4's)
        data["method"] = {"kind": "collocation", "degree": 3}
        data["steps"] = 1
    run, settings, ptype = parse_config(data)
    setup = ptype.build(settings, run)
    log = Path(tempfile.mkdtemp()) / "ipopt.txt"
    options = setup.run.solver.options()
    ipopt = {**options.ipopt, "output_file": str(log), "file_print_level": 5}
    options = ocp.SolverOptions(
        tol=options.tol, max_iter=iterations, check_optimality=False, first_order_iterations=0, ipopt=ipopt
    )
    begin = time.perf_counter()
    solver = ocp.OCPSolver(setup.problem, setup.run.discretisation(), options)
    build = time.perf_counter() - begin
    sol = solver.solve(T=setup.run.T, initial_guess=setup.initial_guess)
    text = log.read_text()
    nnz = int(re.search(r"Number of nonzeros in Lagrangian Hessian\.*:\s*(\d+)", text).group(1))
    variables = int(re.search(r"Total number of variables\.*:\s*(\d+)", text).group(1))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB on Linux
    queue.put(
        {
            "weights": int(setup.problem.free_parameters[0].symbol.numel()),
            "kind": kind,
            "build_s": build,
            "per_iteration_s": sol.solve_time_s / max(sol.iterations, 1),
            "iterations": sol.iterations,
            "hessian_nnz": nnz,
            "variables": variables,
            "peak_mib": peak,
            # IPOPT's time in the Lagrangian's Hessian, share of the solve
            "hessian_share": sol.timings.get("t_wall_nlp_hess_l", float("nan")) / sol.solve_time_s,
        }
    )


def row(widths: list[int], kind: str, iterations: int) -> dict:
    return {"widths": widths, "kind": kind, **in_child(measure, (widths, kind, iterations), LIMIT_S)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", nargs="*", default=["16", "16,16", "32,32", "64,64"])
    parser.add_argument("--kinds", nargs="*", default=["multiple_shooting", "collocation"])
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path("results/collocation_weights.json"))
    args = parser.parse_args()
    print(
        "| widths | weights | transcription | build s | s per iteration | Hessian share | Hessian nonzeros "
        "| variables | peak MiB |"
    )
    print("| --- " * 9 + "|")
    rows = []
    for spec in args.widths:
        widths = [int(w) for w in spec.split(",")]
        for kind in args.kinds:
            r = row(widths, kind, args.iterations)
            rows.append(r)
            if "failed" in r:
                print(f"| {widths} | | {kind} | {r['failed']} | | | | | |", flush=True)
                continue
            print(
                f"| {widths} | {r['weights']} | {kind} | {r['build_s']:.1f} | {r['per_iteration_s']:.3f} | "
                f"{r['hessian_share']:.0%} | "
                f"{r['hessian_nnz']} | {r['variables']} | {r['peak_mib']:.0f} |",
                flush=True,
            )
    for kind in args.kinds:
        done = [r for r in rows if r["kind"] == kind and "failed" not in r]
        if len(done) >= 2:
            w = np.log([r["weights"] for r in done])
            t = np.polyfit(w, np.log([r["per_iteration_s"] for r in done]), 1)[0]
            n = np.polyfit(w, np.log([r["hessian_nnz"] for r in done]), 1)[0]
            print(f"{kind}: time per iteration ~ weights^{t:.2f}, Hessian nonzeros ~ weights^{n:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
