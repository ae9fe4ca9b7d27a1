"""The reference instance (benchmarks/data): plain multiple shooting from its start reproduces the measured reference.

benchmarks/data/README.md: from U0, plain multiple shooting with IPOPT (MUMPS,
default options) converges in about 120 iterations to cost 0.3587 (loss 0.103,
regularisation 0.255). Our transcription of the same discretised problem must
land on the same KKT point.
"""

from pathlib import Path

import numpy as np
import pytest

import ocp
from problems.learning.datasets import Dataset
from problems.learning.l2 import l2_problem
from problems.learning.networks import NetworkDynamics

INSTANCE = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "annulus_N400_K20.npz"


@pytest.mark.slow
def test_plain_multiple_shooting_reproduces_the_measured_reference():
    with np.load(INSTANCE) as raw:
        data, U0 = Dataset(raw["X"], raw["y"]), raw["U0"]
    problem, _ = l2_problem(data, NetworkDynamics("inside", "tanh"), T=5.0, lam=1e-3, loss="squared", output="tanh")
    plain = ocp.SolverOptions(first_order_iterations=0)
    sol = ocp.solve(
        problem, ocp.MultipleShooting(K=20, integrator=ocp.RK4(1)), plain, initial_guess=ocp.InitialGuess(controls=U0)
    )
    assert sol.success, sol.message
    assert sol.objective == pytest.approx(0.3587, abs=5e-5)
    assert sol.costs["loss"] == pytest.approx(0.103, abs=5e-4)
    assert sol.costs["regularization"] == pytest.approx(0.255, abs=5e-4)
    assert 100 <= sol.iterations <= 140
