"""The optima the shipped configs reach, recorded once and compared after a change that must not alter them.

    OMP_NUM_THREADS=1 python benchmarks/behaviour.py record    # writes benchmarks/data/behaviour_baseline.json
    OMP_NUM_THREADS=1 python benchmarks/behaviour.py compare   # solves again, compares at 1e-10 relative

What is solved, all in this process (one worker: the multi-start's choices then
do not depend on timing, and patience, the only clock-driven rule, is off):

- every config that is not a sweep: from start 0, each strategy its search uses
  (the initialization strategy, the extra strategies, the first-start ones), one
  solve each; a gradient-flow config trains once;
- the default config (annulus_l2.yaml): its whole search (start tasks, hops,
  stopping rule), every local search's objective;
- every sweep config: the sweep itself (chains, warm starts), every point.

Recorded per item: the objective and the norm of the controls. "Same" means
both within 1e-10 relative: a refactoring that keeps the arithmetic keeps them
bit for bit, and anything larger is a change of behaviour to explain.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASELINE = HERE / "data" / "behaviour_baseline.json"
TOLERANCE = 1e-10
DEFAULT = "annulus_l2.yaml"


def fingerprint(solution) -> dict[str, float]:
    return {"objective": float(solution.objective), "controls_norm": float(np.linalg.norm(solution.controls))}


def single_solves(path: Path) -> dict[str, dict[str, float]]:
    """Each strategy of the config's search, from start 0, one solve each."""
    from ocp.run.config import load_yaml
    from ocp.run.solve import parse_config, solve_run
    from ocp.search.strategies import applicable

    run, settings, ptype = parse_config(load_yaml(path))
    if run.solver.name == "gradient_flow":
        return {"gradient_flow": fingerprint(solve_run(run, ptype.build(settings, run)))}
    names = [run.initialization.strategy, *run.multistart.extra_strategies, *run.multistart.first_start_strategies]
    found = {}
    for name in dict.fromkeys(names):
        one = replace(
            run,
            initialization=replace(run.initialization, strategy=name),
            multistart=replace(run.multistart, starts=1, extra_strategies=(), first_start_strategies=()),
        )
        setup = ptype.build(settings, one)
        if not applicable(setup.problem, one.initializations()[0]):
            continue  # the search leaves it out too (a continuation where no parameter is marked)
        found[name] = fingerprint(solve_run(setup.run or one, setup))  # a time series completes K from its data
    return found


def whole_search(path: Path) -> dict[str, dict[str, float]]:
    """The config's search on one worker with patience off: every local search, in order."""
    from ocp.run.config import load_yaml
    from ocp.run.solve import parse_config, solve_run

    run, settings, ptype = parse_config(load_yaml(path))
    run = replace(run, multistart=replace(run.multistart, workers=1, patience=None))
    solution = solve_run(run, ptype.build(settings, run))
    found = {"kept": fingerprint(solution)}
    for j, objective in enumerate(solution.start["multistart"]["objectives"]):
        found[f"search {j}"] = {"objective": float(objective), "controls_norm": float("nan")}
    return found


def sweep(path: Path) -> dict[str, dict[str, float]]:
    """The sweep in this process: every point's objective (the store keeps no controls)."""
    from ocp.sweep.config import load_sweep
    from ocp.sweep.runner import run_sweep

    with tempfile.TemporaryDirectory() as out:
        result = run_sweep(load_sweep(path), Path(out) / "sweep", workers=1, stream=io.StringIO())
    return {
        pid: {"objective": float(record.get("objective", float("nan"))), "controls_norm": float("nan")}
        for pid, record in sorted(result.records.items())
    }


def is_sweep(path: Path) -> bool:
    from ocp.run.config import load_yaml

    data = load_yaml(path)
    return "sweep" in data or "base" in data


def measure(skip: list[str], partial: Path | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """Every shipped config but those in ``skip``; with ``partial``, what is measured so far is written there
    after each config (a long run cut short keeps its numbers)."""
    found = {}
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        if path.name in skip:
            continue
        begin = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the library's progress lines
            if is_sweep(path):
                found[path.name] = sweep(path)
            else:
                found[path.name] = single_solves(path)
                if path.name == DEFAULT:
                    found[f"{path.name} (search)"] = whole_search(path)
        print(f"{path.name}: {len(found[path.name])} items in {time.perf_counter() - begin:.0f} s", flush=True)
        if partial is not None:
            partial.write_text(json.dumps(found, indent=1, allow_nan=True) + "\n")
    return found


def compare(before: dict, after: dict) -> list[str]:
    """Every item whose objective or control norm moved by more than TOLERANCE (relative), or is missing."""
    problems = []
    for config in sorted(set(before) | set(after)):
        old, new = before.get(config, {}), after.get(config, {})
        for item in sorted(set(old) | set(new)):
            if item not in old or item not in new:
                problems.append(f"{config} / {item}: only {'after' if item in new else 'before'}")
                continue
            for key in ("objective", "controls_norm"):
                a, b = old[item][key], new[item][key]
                if np.isnan(a) and np.isnan(b):
                    continue
                if not abs(a - b) <= TOLERANCE * max(1.0, abs(a)):
                    problems.append(f"{config} / {item}: {key} {a!r} -> {b!r}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["record", "compare"])
    parser.add_argument(
        "--skip", nargs="*", default=[], help="config file names to leave out (their items are reported missing)"
    )
    parser.add_argument("--partial", type=Path, help="write the items measured so far here after each config")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    found = measure(args.skip, args.partial)
    if args.action == "record":
        BASELINE.parent.mkdir(exist_ok=True)
        BASELINE.write_text(json.dumps(found, indent=1, allow_nan=True) + "\n")
        print(f"recorded {sum(map(len, found.values()))} items in {BASELINE}")
        return
    problems = compare(json.loads(BASELINE.read_text()), found)
    for line in problems:
        print(line)
    print(f"{sum(map(len, found.values()))} items; {len(problems)} differ by more than {TOLERANCE:g} relative")
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
