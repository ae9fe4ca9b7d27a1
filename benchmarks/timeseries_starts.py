"""From how many random weight initialisations does a fit reach the best fit? Multiple against single shooting.

The Van der Pol config (`configs/timeseries_van_der_pol.yaml`, 82 weights) from the weights of seeds
0 .. S-1 (the data stay those of seed 0):

- multiple shooting: IPOPT on the config's NLP, node states started at the data (the shipped default);
- single shooting: L-BFGS-B on the condensed objective of the same problem (states simulated from the
  initial states through the whole window: gradient training through the ODE solver, as torchdiffeq does,
  with the toolkit's own integrator and gradient), up to ITERATIONS iterations; IPOPT then only evaluates
  the result.

A run "reaches the best fit" when its final objective is within 1 % (and, second count, 5 %) of the best
objective of all runs.

    python benchmarks/timeseries_starts.py [S]
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

import ocp
from ocp.run.solve import parse_config

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "timeseries_van_der_pol.yaml"
ITERATIONS = 3000
WITHIN = 0.01


def fit(seed: int, single_shooting: bool) -> tuple[float, float, str]:
    text = yaml.safe_load(CONFIG.read_text())
    run, settings, ptype = parse_config(text)
    setup = ptype.build(settings, run)
    weights = setup.context.model.initial_weights(settings.model.init_scale, seed)
    guess = replace(setup.initial_guess, free_parameters={"theta": weights})
    options = replace(setup.run.solver.options(), check_optimality=False)
    if single_shooting:
        options = replace(options, first_order_iterations=ITERATIONS, max_iter=0)
        guess = replace(guess, states=None)  # simulated from the initial states: nothing at the nodes
    else:
        options = replace(options, first_order_iterations=0)
    begin = time.perf_counter()
    solution = ocp.OCPSolver(setup.problem, setup.run.discretisation(), options).solve(
        T=setup.run.T, initial_guess=guess
    )
    return solution.objective, time.perf_counter() - begin, str(solution.status)


def main(starts: int) -> None:
    rows = {kind: [fit(seed, kind == "single") for seed in range(starts)] for kind in ("multiple", "single")}
    best = min(objective for runs in rows.values() for objective, _, _ in runs if np.isfinite(objective))
    print(f"{starts} initialisations; best objective {best:.7f}; 'reached' = within {WITHIN:.0%} of it")
    for kind, runs in rows.items():
        objectives = np.array([o for o, _, _ in runs])
        reached = int(np.sum(objectives <= best * (1 + WITHIN)))
        near = int(np.sum(objectives <= best * 1.05))
        wall = np.array([w for _, w, _ in runs])
        print(
            f"  {kind:8s} shooting: reached {reached}/{starts} (within 5 %: {near}/{starts}); "
            f"objective median {np.median(objectives):.5f}, worst {np.max(objectives):.5f}; "
            f"wall s median {np.median(wall):.1f}, total {wall.sum():.0f}"
        )
        print("    objectives: " + " ".join(f"{o:.5f}" for o in objectives))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
