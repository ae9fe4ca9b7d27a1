"""Command line: ``ocp solve CONFIG [--out DIR]`` and ``ocp list``.

Exit codes: 0 solved; 1 the solver did not converge or the report failed
(results are still written); 2 invalid input (nothing is written).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import registry
from .config import keys, load_yaml, parse
from .errors import ConfigError, OcpError
from .multistart import effective_strategies, multistart, random_starts
from .settings import RunSettings
from .solution import Solution
from .solver import OCPSolver
from .strategies import solve_with

EXIT_OK, EXIT_NOT_CONVERGED, EXIT_BAD_INPUT = 0, 1, 2


def read_config(path: str) -> tuple[RunSettings, Any, registry.ProblemType]:
    """Validate the whole config before anything is built or written."""
    data = load_yaml(path)
    if "problem" not in data:
        raise ConfigError("missing required key 'problem'; run `ocp list` for the registered problem types")
    ptype = registry.get(data["problem"])
    run_keys = set(RunSettings.__dataclass_fields__)
    own_keys = {k for k in data if k not in run_keys}
    allowed = sorted(run_keys) + [k for k in keys(ptype.settings) if k not in run_keys]
    for key in own_keys:
        if key not in allowed:
            raise ConfigError(f"unknown key {key!r}; allowed keys: {', '.join(allowed)}")
    run = parse(RunSettings, {k: v for k, v in data.items() if k in run_keys})
    settings = parse(ptype.settings, {k: v for k, v in data.items() if k in own_keys})
    run.initializations()  # a strategy's own checks (e.g. continuation_parameter names its parameter)
    return run, settings, ptype


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    tmp.replace(path)


def cmd_solve(args: argparse.Namespace) -> int:
    run, settings, ptype = read_config(args.config)
    if args.verbose:
        run = replace(run, solver=replace(run.solver, verbose=True))
    setup = ptype.build(settings, run)  # may raise ConfigError (e.g. a missing data file): nothing written yet
    out = Path(args.out or Path("results") / Path(args.config).stem)
    problem = setup.problem
    print(
        f"[ocp] {ptype.name}: B={problem.batch_size} trajectories, nx={problem.nx}, nu={problem.nu}, "
        f"K={run.K}, T={run.T}, integrator={run.integrator}x{run.steps}",
        flush=True,
    )
    solution = solve_run(run, setup)
    _print_first_order(solution.first_order)
    print(
        f"[ocp] {solution.status} after {solution.iterations} iterations in {solution.solve_time_s:.2f} s: "
        f"objective {solution.objective:.6g}",
        flush=True,
    )
    _print_optimality(solution.optimality)
    out.mkdir(parents=True, exist_ok=True)
    solution.save(out / "solution.npz")
    summary = {
        "problem": ptype.name,
        "config": str(Path(args.config)),
        "status": solution.status,
        "message": solution.message,
        "success": solution.success,
        "objective": solution.objective,
        "costs": solution.costs,
        "iterations": solution.iterations,
        "build_time_s": solution.build_time_s,
        "solve_time_s": solution.solve_time_s,
        "constraint_violation": solution.constraint_violation,
        "first_order": solution.first_order,
        "second_order_ok": solution.optimality.get("second_order_ok"),
        "first_order_gap": solution.optimality.get("first_order_gap"),
        "optimality": solution.optimality,
        "start": solution.start,
        "T": solution.T,
        "K": run.K,
        "integrator": run.integrator,
        "steps": run.steps,
        "seed": run.seed,
        **setup.summary,
    }
    _write_json(out / "summary.json", summary)  # written before the report, so a failing report loses nothing
    try:
        summary |= ptype.report(setup, run, solution, out)
    except Exception as err:  # a problem type's plotting or analysis: keep the solution, say what failed
        print(
            f"[ocp] error: the {ptype.name} report failed ({type(err).__name__}: {err}); "
            f"solution.npz and summary.json are written",
            file=sys.stderr,
        )
        return EXIT_NOT_CONVERGED
    _write_json(out / "summary.json", summary)
    print(f"[ocp] wrote {out}/solution.npz, summary.json and plots", flush=True)
    if not solution.success:
        print(f"[ocp] error: the solver did not converge: {solution.message}", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    return EXIT_OK


def solve_run(run: RunSettings, setup: registry.Setup) -> Solution:
    """One solve with the configured strategy, or the best of a multi-start."""
    problem, starts = setup.problem, run.multistart.starts
    inits = effective_strategies(run.initializations(), problem)
    if len(inits) < len(run.initializations()):
        print("[ocp] the first-order phase does not apply here: first_order and adam start as simulate does")
    hint = "" if run.solver.verbose else " (--verbose shows every iteration)"
    if starts == 1 and len(inits) == 1:
        solver = OCPSolver(problem, run.method(), run.solver.options())
        print(f"[ocp] built the NLP in {solver.build_time_s:.2f} s; solving ({inits[0].strategy} start){hint} ...")
        solution = solve_with(solver, inits[0], T=run.T, initial_guess=setup.initial_guess)
        for stage in solution.start["stages"][:-1]:
            print(f"[ocp]   stage {stage['stage']}: objective {stage['objective']:.6g}, {stage['iterations']} its")
        return solution
    guesses = random_starts(setup.initial_guess, run.K, problem.nu, starts, run.multistart.scale, run.seed)
    workers = run.multistart.workers or None
    names = ", ".join(init.strategy for init in inits)
    solves = starts * len(inits)
    print(f"[ocp] multi-start: {starts} starts x ({names}) = {solves} solves, one NLP build per worker ...", flush=True)
    begin, finished = time.perf_counter(), []

    def progress(j: int, sol: Solution) -> None:
        finished.append(j)
        status = "given up (patience)" if sol.status == "User_Requested_Stop" else sol.status
        print(
            f"[ocp]   start {j // len(inits)} ({sol.start['strategy']}): {status}, objective "
            f"{sol.objective:.6g} ({len(finished)}/{solves} done, {time.perf_counter() - begin:.0f} s)",
            flush=True,
        )

    solution = multistart(
        problem,
        run.method(),
        guesses,
        run.solver.options(),
        init=inits,
        T=run.T,
        workers=workers,
        progress=progress,
        max_iter=min(run.multistart.max_iter, run.solver.max_iter),
        max_seconds=run.multistart.max_seconds,
        patience=run.multistart.patience,
    )
    report = solution.start["multistart"]
    if report["converged"] == 0:
        print(f"[ocp] multi-start: no start converged; keeping start {report['best_start']} (lowest objective)")
        return solution
    print(
        f"[ocp] multi-start: best start {report['best_start']} ({report['best_strategy']}); objectives best "
        f"{report['best']:.6g}, median {report['median']:.6g}, worst {report['worst']:.6g}; "
        f"{report['distinct']} distinct optima among {report['converged']} converged",
        flush=True,
    )
    return solution


def cmd_list(_: argparse.Namespace) -> int:
    for name, ptype in sorted(registry.problem_types().items()):
        print(f"{name:12s} {ptype.description}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocp", description="Neural ODE training as optimal control (CasADi + IPOPT).")
    sub = parser.add_subparsers(dest="command", required=True)
    solve = sub.add_parser("solve", help="solve the problem a YAML config describes")
    solve.add_argument("config", help="YAML config file")
    solve.add_argument("--out", help="output directory (default: results/<config name>)")
    solve.add_argument("--verbose", action="store_true", help="print IPOPT's progress line per iteration")
    solve.set_defaults(func=cmd_solve)
    lst = sub.add_parser("list", help="list the registered problem types")
    lst.set_defaults(func=cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as err:
        print(f"ocp: config error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OcpError as err:
        print(f"ocp: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())


def _print_first_order(report: dict) -> None:
    if report.get("iterations"):
        print(
            f"[ocp] first-order start: {report['iterations']} L-BFGS-B iterations in {report['time_s']:.2f} s, "
            f"objective {report['objective_start']:.6g} -> {report['objective_end']:.6g}",
            flush=True,
        )
    elif report.get("skipped"):
        print(f"[ocp] first-order start skipped: {report['skipped']}", flush=True)


def _print_optimality(report: dict) -> None:
    if report.get("skipped"):
        print(f"[ocp] optimality check skipped: {report['skipped']}", flush=True)
        return
    verdict = "a local minimum" if report["second_order_ok"] else "NOT a local minimum"
    print(
        f"[ocp] optimality check ({report['time_s']:.2f} s): {verdict} (smallest reduced-Hessian eigenvalue "
        f"{report['smallest_eigenvalue']:.3g}); L-BFGS-B gap {report['first_order_gap']:.2g}",
        flush=True,
    )
    if report.get("warning"):
        print(f"[ocp] warning: {report['warning']}", file=sys.stderr, flush=True)
