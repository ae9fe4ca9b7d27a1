"""Prediction bands over many seeds: how often they cover the true forecast.

    OMP_NUM_THREADS=1 python benchmarks/timeseries_bands.py [--linear-seeds 100] [--mlp-seeds 30]

Two cases, each fitted once per seed (new data and new initial weights; IPOPT from the data, one start):
``linear``: the damped linear oscillator of `problems/timeseries/series.py` (2 members x 30 samples on [0, 6],
noise 0.02) fitted by the linear model (lambda 0), where the linearised Laplace band should be nearly exact;
``mlp``: Van der Pol (mu 1; 2 members x 60 samples on [0, 15], noise 0.05) fitted by an MLP 2-8-2 (42
weights, lambda 1e-4). The first 75 % of the span is fitted, the rest held out. Per case and level (95 %,
68 %): the mean over seeds of each seed's coverage of the noise-free held-out trajectory by the mean band
and of the held-out samples by the observation band, with the tolerance 3 sqrt(level (1 - level) / seeds)
(the seed is the unit, `tests/test_timeseries_bands.py`); the noise estimate over the true noise; the
bands' time. Seeds whose fit did not reach the noise level (sigma above twice the noise) are counted
and left out.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ocp  # noqa: E402
from ocp.run.solve import parse_config  # noqa: E402
from problems.timeseries.bands import coverage, laplace, member_runs  # noqa: E402

LEVELS = (0.95, 0.68)
CASES = {
    "linear": {
        "lambda": 0.0,
        "steps": 4,
        "data": {"source": "linear", "members": 2, "samples": 30, "t_end": 6.0, "noise": 0.02},
        "model": {"kind": "linear"},
    },
    "mlp": {
        "lambda": 1e-4,
        "steps": 2,
        "data": {"source": "van_der_pol", "members": 2, "samples": 60, "t_end": 15.0, "noise": 0.05},
        "model": {"kind": "mlp", "widths": [8]},
    },
}


def one_seed(case: str, seed: int) -> dict:
    config = {
        "problem": "timeseries",
        "seed": seed,
        "integrator": "rk4",
        "parallelization": "serial",
        "initialization": {"strategy": "simulate"},
        "multistart": {"starts": 1, "extra_strategies": [], "first_start_strategies": []},
        "solver": {"check_optimality": False, "max_iter": 500},
        **CASES[case],
    }
    run, settings, ptype = parse_config(config)
    setup = ptype.build(settings, run)
    solver = ocp.OCPSolver(setup.problem, setup.run.discretisation(), setup.run.solver.options())
    solution = solver.solve(T=setup.run.T, initial_guess=setup.initial_guess)
    ctx = setup.context
    begin = time.perf_counter()
    theta = np.asarray(solution.free_parameters["theta"]).ravel()
    runs = member_runs(ctx, theta, solution.states[:, 0], [])
    clean = replace(ctx.settings.data, noise=0.0).load(seed)[0]
    row = {"seed": seed}
    for level in LEVELS:
        bands = laplace(ctx, theta, runs, level)
        if isinstance(bands, str):
            return {"seed": seed, "failed": bands}
        members = bands.member_bands(ctx, runs)
        row[f"mean_{level}"] = coverage(members, "mean", clean, ctx.train_until)
        row[f"observation_{level}"] = coverage(members, "observation", ctx.series, ctx.train_until)
    row["sigma_ratio"] = float(np.mean(bands.sigma * ctx.scaling.std) / ctx.settings.data.noise)
    row["effective_parameters"] = bands.effective_parameters
    row["bands_s"] = time.perf_counter() - begin
    row["fit_s"] = solution.solve_time_s
    if row["sigma_ratio"] > 2.0:
        row["failed"] = f"sigma {row['sigma_ratio']:.1f} x the noise ({solution.status})"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--linear-seeds", type=int, default=100)
    parser.add_argument("--mlp-seeds", type=int, default=30)
    args = parser.parse_args()
    print(
        "| case | seeds used / run | level | mean band: noise-free held out | observation band: held-out samples "
        "| tolerance | sigma / noise | effective parameters | bands s (median) |"
    )
    print("| --- " * 9 + "|")
    for case, seeds in (("linear", args.linear_seeds), ("mlp", args.mlp_seeds)):
        rows = [one_seed(case, seed) for seed in range(seeds)]
        good = [r for r in rows if "failed" not in r]
        if not good:
            continue
        for r in rows:
            if "failed" in r:
                print(f"  {case} seed {r['seed']} left out: {r['failed']}", file=sys.stderr)
        for level in LEVELS:
            mean = np.mean([r[f"mean_{level}"] for r in good])
            observation = np.mean([r[f"observation_{level}"] for r in good])
            tolerance = 3 * np.sqrt(level * (1 - level) / len(good))
            print(
                f"| {case} | {len(good)} / {seeds} | {level:.0%} | {mean:.3f} | {observation:.3f} | {tolerance:.3f} | "
                f"{np.mean([r['sigma_ratio'] for r in good]):.3f} | "
                f"{np.mean([r['effective_parameters'] for r in good]):.1f} | "
                f"{np.median([r['bands_s'] for r in good]):.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
