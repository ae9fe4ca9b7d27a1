"""Sweeps: warm-started chains against cold solves, and 1 against 2 worker processes.

    python benchmarks/sweeps.py [--configs configs/sweep_T_l2.yaml ...]

Each run is `ocp sweep` in its own process into a fresh directory; the
numbers come from its sweep.json: points, NLP builds, IPOPT iterations, the
sum of the solve times and the wall time of the whole command. Printed as a
markdown table for benchmarks/README.md; raw numbers in results/sweeps.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RUNS = (("warm", 1, []), ("cold", 1, ["--cold"]), ("warm", 2, []), ("cold", 2, ["--cold"]))


def run(config: str, workers: int, flags: list[str], out: Path) -> dict:
    command = [sys.executable, "-m", "ocp", "sweep", config, "--out", str(out), "--workers", str(workers), *flags]
    begin = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - begin
    summary = json.loads((out / "sweep.json").read_text())
    fits = summary.get("fits", {}).get("lines", [])
    return {"exit": done.returncode, "wall_s": wall, **{k: summary[k] for k in KEYS}, "fits": fits}


KEYS = ("points", "failed", "builds", "iterations", "first_order_iterations", "solve_time_s", "warm_started")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="+", default=["configs/sweep_T_l2.yaml", "configs/sweep_lambda_l2.yaml"])
    parser.add_argument("--runs", nargs="+", default=[f"{m}{w}" for m, w, _ in RUNS], help="e.g. warm1 cold2")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs:
            for mode, workers, flags in RUNS:
                if f"{mode}{workers}" not in args.runs:
                    continue
                out = Path(tmp) / f"{Path(config).stem}-{mode}-{workers}"
                row = {"config": config, "mode": mode, "workers": workers, **run(config, workers, flags, out)}
                print(json.dumps(row), flush=True)
                results.append(row)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "sweeps.json").write_text(json.dumps(results, indent=1))
    print("| config | start | workers | points | builds | IPOPT its | L-BFGS-B its | solve s (sum) | wall s | fits |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {Path(r['config']).name} | {r['mode']} | {r['workers']} | {r['points']} ({r['failed']} failed) | "
            f"{r['builds']} | {r['iterations']} | {r['first_order_iterations']} | {r['solve_time_s']:.1f} | "
            f"{r['wall_s']:.1f} | {'; '.join(r['fits'])} |"
        )


if __name__ == "__main__":
    main()
