"""Every shipped learning config solved by direct collocation against multiple shooting, at growing K.

    OMP_NUM_THREADS=1 python benchmarks/collocation_configs.py [--configs annulus_l2 ...] [--K 10 20 40]

For each config that IPOPT solves (the gradient-flow ResNet configs and the sweeps are left out: their
problems are those of the configs below), at a reduced size (`SIZES`, so that every config runs in
minutes) and for each K:

1. the reference: multiple shooting with RK4 at 8 steps per interval, from the config's own start; on
   K piecewise-constant controls this is converged to about 1e-9 (RK4 error ~ (h / 8)^4);
2. direct collocation with 2 and 3 Radau points, started from that solution: it stops at its own
   optimum of the same continuous problem nearest to the reference's, and the relative objective
   difference is its discretisation error, which should shrink with K like h^(2 s - 1);
3. direct collocation with 3 points from the config's own start (cold): whether it finds the same
   optimum on its own, and at what cost.

K is the network's depth for the learning problems, so a larger K is a different (deeper) problem; the
difference is what shrinks. The time-series configs set their own grid from the data (K is ignored).
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

CONFIGS = HERE.parent / "configs"
LEARNING = [
    "annulus_l2",
    "spirals_l2",
    "xor_l2",
    "interpolation_l2",
    "annulus_l1",
    "annulus_turnpike",
    "turnpike_reachable",
    "spacetime_annulus",
    "spacetime_turnpike",
    "spacetime_variable_width",
]
TIMESERIES = ["timeseries_van_der_pol", "timeseries_lotka_volterra", "timeseries_lynx_hare"]
# smaller data than shipped, so the whole table runs in minutes (the transcription is what is compared)
SIZES = {"n_train": 40, "n_test": 50}
REFERENCE_STEPS = 8
MAX_ITER = 1500
WALL_S = 300.0


def load(name: str, K: int | None) -> dict:
    from ocp.run.config import load_yaml

    data = copy.deepcopy(load_yaml(CONFIGS / f"{name}.yaml"))
    data.pop("sweep", None)
    if "data" in data and "n_train" in data["data"]:
        data["data"].update({k: min(v, data["data"].get(k, v)) for k, v in SIZES.items()})
    if K is not None and data["problem"] != "timeseries":
        data["K"] = K
    data["multistart"] = {**data.get("multistart", {}), "starts": 1, "extra_strategies": [], "effort": "portfolio"}
    solver = data.setdefault("solver", {})
    solver.update(max_iter=MAX_ITER, check_optimality=False, ipopt={"max_wall_time": WALL_S})
    return data


def solve(data: dict, method_section: dict | None, steps: int | None, warm=None) -> tuple[object, float, float]:
    """(solution, build s, solve s) of the config with ``method_section`` (None: multiple shooting)."""
    from ocp.run.solve import parse_config
    from ocp.search.strategies import solve_with
    from ocp.solvers.ipopt import OCPSolver

    data = copy.deepcopy(data)
    if method_section is not None:
        data["method"] = method_section
    if steps is not None:
        data["steps"] = steps
    run, settings, ptype = parse_config(data)
    setup = ptype.build(settings, run)
    run = setup.run or run
    begin = time.perf_counter()
    solver = OCPSolver(setup.problem, run.discretisation(), run.solver.options())
    build = time.perf_counter() - begin
    parameters = {p.name: p.value for p in setup.problem.parameters}
    if warm is not None:
        sol = solver.solve(initial_guess=warm, parameters=parameters, T=run.T, first_order_iterations=0)
    else:
        init = run.initializations()[0]
        sol = solve_with(solver, init, parameters=parameters, T=run.T, initial_guess=setup.initial_guess)
    return sol, build, time.perf_counter() - begin - build


def rows_for(name: str, Ks: list[int]) -> list[dict]:
    rows = []
    for K in [None] if name in TIMESERIES else Ks:
        data = load(name, K)
        ref, build, seconds = solve(data, None, REFERENCE_STEPS)
        base = {"config": name, "K": ref.controls.shape[0] if ref.controls.ndim == 2 else K}
        rows.append({**base, "method": f"MS rk4 x{REFERENCE_STEPS}", "start": "own", **numbers(ref, build, seconds)})
        for degree in (2, 3):
            section = {"kind": "collocation", "degree": degree}
            sol, build, seconds = solve(data, section, None, warm=ref)
            rows.append({**base, "method": f"DC radau {degree}", "start": "reference", **numbers(sol, build, seconds)})
            rows[-1]["rel_diff"] = abs(sol.objective - ref.objective) / abs(ref.objective)
        sol, build, seconds = solve(data, {"kind": "collocation", "degree": 3}, None)
        rows.append({**base, "method": "DC radau 3", "start": "own", **numbers(sol, build, seconds)})
        rows[-1]["rel_diff"] = abs(sol.objective - ref.objective) / abs(ref.objective)
        for row in rows[-4:]:
            print(line(row), flush=True)
    return rows


def numbers(sol, build: float, seconds: float) -> dict:
    return {
        "objective": sol.objective,
        "iterations": sol.iterations,
        "status": str(sol.status),
        "build_s": build,
        "solve_s": seconds,
        "rel_diff": float("nan"),
    }


HEADER = "| config | K | method | start | objective | rel. difference | iterations | status | build s | solve s |"


def line(r: dict) -> str:
    diff = "" if r["rel_diff"] != r["rel_diff"] else f"{r['rel_diff']:.1e}"
    return (
        f"| {r['config']} | {r['K']} | {r['method']} | {r['start']} | {r['objective']:.10g} | {diff} | "
        f"{r['iterations']} | {r['status']} | {r['build_s']:.2f} | {r['solve_s']:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=LEARNING + TIMESERIES)
    parser.add_argument("--K", nargs="*", type=int, default=[10, 20, 40])
    args = parser.parse_args()
    print(HEADER)
    print("| --- " * (HEADER.count("|") - 1) + "|")
    for name in args.configs:
        rows_for(name, args.K)


if __name__ == "__main__":
    main()
