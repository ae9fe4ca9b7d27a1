"""Command line: ``ocp solve CONFIG``, ``ocp sweep CONFIG``, ``ocp report DIR`` and ``ocp list``.

Exit codes (the README's table):

- 0: solved;
- 1: solver failure: the solver did not converge, no solve produced a
  solution, or the report failed (whatever was computed is written);
- 2: bad input: a config, data file, option or ``--out`` the toolkit refuses,
  with a message naming it (nothing is written);
- 130: interrupted (Ctrl-C): ``ocp solve`` writes the best solution of the
  solves finished by then, status "interrupted"; a sweep keeps its finished
  points and resumes from them.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import get_args

from ocp.errors import ConfigError, Interrupted, OcpError, SolveError
from ocp.executors import ExecutorName
from ocp.files import prepare_output_dir, to_json, write_atomic
from ocp.logs import show_messages
from ocp.run import registry
from ocp.run.memory import build_within_memory
from ocp.run.solve import read_config, solve_run
from ocp.search.coverage import EffortName
from ocp.solvers.records import MaximumPrincipleReport, OptimalityReport
from ocp.solvers.status import Status

EXIT_OK, EXIT_NOT_CONVERGED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def cmd_solve(args: argparse.Namespace) -> int:
    run, settings, ptype = read_config(args.config)
    if args.verbose:
        run = replace(run, solver=replace(run.solver, verbose=True))
    if args.effort is not None:  # the command line wins over the config
        run = replace(run, multistart=replace(run.multistart, effort=args.effort))
    if args.executor is not None or args.scheduler is not None:  # the command line wins over the config
        where = {"executor": args.executor or run.multistart.executor, "scheduler": args.scheduler}
        run = replace(run, multistart=replace(run.multistart, **where))
    # may raise ConfigError (a missing data file, an NLP beyond the machine's memory): nothing written yet
    setup = build_within_memory(ptype, settings, run)
    run = setup.run or run
    out = prepare_output_dir(Path(args.out or Path("results") / Path(args.config).stem))
    problem = setup.problem
    staged = ""
    if problem.interval_sizes is not None:  # sizes per interval: say the range, not K numbers
        sizes = sorted({s.size for s in problem.interval_sizes.states})
        staged = f" (at most; {sizes[0]} to {sizes[-1]} states per interval)"
    print(
        f"[ocp] {ptype.name}: N={problem.N} trajectories, nx={problem.nx}, nu={problem.nu}{staged}, "
        f"K={run.K}, T={run.T}, {_discretisation_words(run)}",
        flush=True,
    )
    try:
        solution = solve_run(run, setup)
    except Interrupted as stop:
        return _save_interrupted(stop.best, out, args, ptype, run, setup)
    _print_first_order(solution)
    print(
        f"[ocp] {solution.status} after {solution.iterations} iterations in {solution.solve_time_s:.2f} s: "
        f"objective {solution.objective:.6g}",
        flush=True,
    )
    _print_optimality(solution.optimality)
    _print_maximum_principle(solution.maximum_principle)
    summary = _summary(solution, args, ptype, run, setup)
    solution.save(out / "solution.npz")
    write_atomic(out / "summary.json", to_json(summary))  # written before the report, so a failing report loses nothing
    if solution.costates.size and solution.maximum_principle.residual_per_interval is not None:
        from ocp.plotting import plot_costates

        plot_costates(solution, out / "costates.png")
    if solution.start.multistart is not None:
        from ocp.plotting import plot_landscape

        plot_landscape(solution.start.multistart, out / "landscape.png")
    try:
        summary |= ptype.report(setup, run, solution, out)
    except Exception as err:  # a problem type's plotting or analysis: keep the solution, say what failed
        print(
            f"[ocp] error: the {ptype.name} report failed ({type(err).__name__}: {err}); "
            f"solution.npz and summary.json are written",
            file=sys.stderr,
        )
        return EXIT_NOT_CONVERGED
    write_atomic(out / "summary.json", to_json(summary))
    print(f"[ocp] wrote {out}/solution.npz, summary.json and plots", flush=True)
    if not solution.success:
        print(f"[ocp] error: the solver did not converge: {solution.message}", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    return EXIT_OK


def _discretisation_words(run) -> str:
    if run.method.kind == "collocation":
        return f"direct collocation ({run.method.degree} {run.method.scheme} points per interval)"
    degree = f", degree {run.integrator_degree}" if run.integrator_degree else ""
    return f"integrator={run.integrator}x{run.steps}{degree}"


def _summary(solution, args: argparse.Namespace, ptype, run, setup) -> dict:
    """What summary.json says of a solve (the problem type's report adds its own entries)."""
    return {
        "problem": ptype.name,
        "config": str(Path(args.config)),
        **solution.scalars(),
        "first_order": solution.first_order,
        "optimality": solution.optimality,
        "maximum_principle": solution.maximum_principle,
        "stability": solution.stability,
        "start": solution.start,
        **({"training": solution.training} if solution.training else {}),
        "T": solution.T,
        "K": run.K,
        "integrator": run.integrator,
        "steps": run.steps,
        "method": asdict(run.method),
        "seed": run.seed,
        **setup.summary,
    }


def _save_interrupted(best, out: Path, args: argparse.Namespace, ptype, run, setup) -> int:
    """Ctrl-C during the search: the best of the finished solves is written, marked as interrupted."""
    if best is None:
        print("\n[ocp] interrupted before any solve finished: nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    report = best.start.multistart
    if report is None:  # one solve, stopped at an iteration
        what = f"IPOPT's last iterate after {best.iterations} iterations"
    else:
        what = f"the best of {sum(1 for solve in report['solves'] if 'time_s' in solve)} finished local searches"
    summary = _summary(best, args, ptype, run, setup) | {"status": Status.INTERRUPTED, "success": False}
    summary["message"] = f"interrupted; this is {what}"
    best.save(out / "solution.npz")
    write_atomic(out / "summary.json", to_json(summary))
    print(
        f"\n[ocp] interrupted: {what} (objective {best.objective:.6g}) is in {out}/solution.npz and summary.json",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED


def cmd_sweep(args: argparse.Namespace) -> int:
    from ocp.sweep import load_sweep, run_sweep

    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    config = load_sweep(args.config)
    if args.cold:
        config = replace(config, grid=replace(config.grid, warm_start=False))
    default = Path("results") / (Path(args.config).stem + ("-cold" if args.cold else ""))
    out = prepare_output_dir(Path(args.out or default))
    try:
        result = run_sweep(
            config,
            out,
            executor=args.executor,
            workers=args.workers,
            scheduler=args.scheduler,
            retry_failed=args.retry_failed,
        )
    except KeyboardInterrupt:
        print(f"\n[sweep] interrupted: finished points are in {out}; run the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    s = result.summary
    print(
        f"[sweep] {s['finished']}/{s['points']} points ({result.solved_now} solved now), {s['failed']} failed; "
        f"{s['builds']} builds, {s['iterations']} solver iterations ({s['warm_started']} warm-started); "
        f"wrote {out}/sweep.csv, sweep.json and figures",
        flush=True,
    )
    _print_fits(s.get("fits", {}))
    if result.failed:
        print(
            f"[sweep] error: {result.failed} points failed (see 'status' and 'message' in sweep.csv)", file=sys.stderr
        )
        return EXIT_NOT_CONVERGED
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from ocp.sweep import SweepStore, report
    from ocp.sweep.config import from_summary

    store = SweepStore(args.directory)
    summary = store.read_summary()
    if summary is None:
        raise ConfigError(f"{args.directory}: no sweep.json here (run `ocp sweep CONFIG --out {args.directory}`)")
    records = store.finished()
    fits = report(from_summary(summary), store, records)
    summary["fits"] = fits
    store.write_summary(summary)
    print(f"[report] {len(records)} points from {args.directory}; figures redrawn", flush=True)
    _print_fits(fits)
    return EXIT_OK if "error" not in fits else EXIT_NOT_CONVERGED


def _print_fits(fits: dict) -> None:
    for line in fits.get("lines", []):
        print(f"[sweep] {line}", flush=True)
    if "error" in fits:
        print(f"[sweep] error: the sweep report failed ({fits['error']}); the points are kept", file=sys.stderr)


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
    solve.add_argument(
        "--executor", choices=get_args(ExecutorName), help="where the search's local searches run (default: local)"
    )
    solve.add_argument("--scheduler", help="address of a running Dask scheduler (with --executor dask)")
    solve.add_argument(
        "--effort",
        choices=get_args(EffortName),
        help="how much of the start distribution the search covers: basins reached by 1 in 4 starts (quick), "
        "1 in 8 (default), 1 in 50 (thorough), or the fixed portfolio of earlier versions (default: the config's)",
    )
    solve.set_defaults(func=cmd_solve)
    sweep = sub.add_parser("sweep", help="solve a config over a grid of T, lambda or any field (resumable)")
    sweep.add_argument("config", help="YAML config with a 'sweep:' section")
    sweep.add_argument("--out", help="output directory (default: results/<config name>)")
    sweep.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    sweep.add_argument("--executor", choices=get_args(ExecutorName), default="local")
    sweep.add_argument("--scheduler", help="address of a running Dask scheduler (with --executor dask)")
    sweep.add_argument("--retry-failed", action="store_true", help="solve the points recorded as failed again")
    sweep.add_argument("--cold", action="store_true", help="no warm starts: every point from the config's start")
    sweep.set_defaults(func=cmd_sweep)
    rep = sub.add_parser("report", help="redraw a sweep's fits and figures from its stored results")
    rep.add_argument("directory", help="the sweep's output directory")
    rep.set_defaults(func=cmd_report)
    lst = sub.add_parser("list", help="list the registered problem types")
    lst.set_defaults(func=cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with show_messages():  # the library logs; the command line prints its messages on stdout
            return args.func(args)
    except ConfigError as err:
        print(f"ocp: config error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SolveError as err:
        print(f"ocp: solver failure: {err}", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    except OcpError as err:
        print(f"ocp: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("\nocp: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _print_first_order(solution) -> None:
    """What the first-order phase did in the kept solve (in a search, the solve whose optimum is kept)."""
    report, strategy = solution.first_order, solution.start.strategy or ""
    kept = " of the kept solve" if solution.start.multistart is not None else ""
    if report.iterations:
        print(
            f"[ocp] first-order phase{kept}: {report.iterations} {report.method or 'L-BFGS-B'} "
            f"iterations in {report.time_s:.2f} s, "
            f"objective {report.objective_start:.6g} -> {report.objective_end:.6g}",
            flush=True,
        )
    elif strategy and report.skipped.startswith("turned off"):
        print(f"[ocp] first-order phase{kept}: none ({strategy} start)", flush=True)
    elif report.skipped:
        print(f"[ocp] first-order phase{kept} skipped: {report.skipped}", flush=True)


def _print_optimality(report: OptimalityReport) -> None:
    if report.skipped:
        print(f"[ocp] optimality check skipped: {report.skipped}", flush=True)
        return
    verdict = "a local minimum" if report.second_order_ok else "NOT a local minimum"
    print(
        f"[ocp] optimality check ({report.time_s:.2f} s): {verdict} (smallest reduced-Hessian eigenvalue "
        f"{report.smallest_eigenvalue:.3g}); L-BFGS-B gap {report.first_order_gap:.2g}",
        flush=True,
    )
    if report.warning:
        print(f"[ocp] warning: {report.warning}", file=sys.stderr, flush=True)


def _print_maximum_principle(report: MaximumPrincipleReport) -> None:
    if report.skipped:
        return  # the optimality check's line already says why
    if report.switching is not None:  # L1 costs: dH/du is the switching function, not a residual
        sigma = max((abs(v) for row in report.switching for v in row), default=0.0)
        print(
            f"[ocp] maximum principle: costates from the multipliers; with L1 costs dH/du / h is the switching "
            f"function (max |sigma| {sigma:.3g}; summary.json 'maximum_principle')",
            flush=True,
        )
        return
    compared = (
        f"; the condensed objective's gradient {report.condensed_gradient:.2g}, difference {report.difference:.2g}"
        if not report.comparison_skipped
        else ""
    )
    print(
        f"[ocp] maximum principle: max ||dH/du|| {report.residual:.2g} from the costates "
        f"(against ||df/du|| {report.scale:.2g}){compared}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
