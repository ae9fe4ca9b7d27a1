"""Peak memory of building and solving an A1 NLP against its state entries: the data behind `ocp/run/memory.py`.

    OMP_NUM_THREADS=1 python benchmarks/memory_floor.py    # each (N, K) in its own process

Each size is built and solved (IPOPT, 2 iterations from simulated states) in a fresh interpreter; the peak
resident memory above the interpreter's own (after imports) is divided by the state entries N x (K + 1) x nx.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = [(100, 20), (400, 20), (1000, 20), (100, 200), (100, 1000)]


def measure(N: int, K: int) -> None:
    sys.path.insert(0, str(ROOT))
    import numpy as np

    import ocp
    from problems.learning.datasets import generate
    from problems.learning.l2 import l2_problem
    from problems.learning.networks import NetworkDynamics

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    problem = l2_problem(generate("annulus", N, 2, seed=0), NetworkDynamics("inside", "tanh"), T=5.0, lam=1e-3)[0]
    solver = ocp.OCPSolver(problem, ocp.MultipleShooting(K=K), ocp.SolverOptions(max_iter=2, check_optimality=False))
    controls = 0.3 * np.random.default_rng(0).standard_normal((K, problem.nu))
    solver.solve(initial_guess=ocp.InitialGuess(controls=controls), first_order_iterations=0)
    extra_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    entries = N * (K + 1) * problem.nx
    print(f"| {N} | {K} | {entries} | {extra_mb:.0f} | {extra_mb * 2**20 / entries / 1024:.1f} |", flush=True)


def main() -> None:
    if len(sys.argv) == 3:
        measure(int(sys.argv[1]), int(sys.argv[2]))
        return
    print("| N | K | state entries | peak MB above the interpreter | KB per state entry |")
    print("| --- | --- | --- | --- | --- |")
    for N, K in SIZES:
        subprocess.run([sys.executable, __file__, str(N), str(K)], check=True)


if __name__ == "__main__":
    main()
