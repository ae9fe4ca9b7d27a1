"""Settings every config shares: problem type, horizon, grid, integrator, solver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .config import at_least, positive
from .integrators import integrator
from .method import MultipleShooting
from .solver import SolverOptions


@dataclass(frozen=True)
class SolverSettings:
    """The ``solver:`` section; ``ipopt`` passes IPOPT options through."""

    max_iter: int = at_least(1, 3000)
    tol: float = positive(1e-8)
    verbose: bool = False
    expand: bool = False
    linear_solver: str = "mumps"
    first_order_iterations: int = at_least(0, 200)
    check_optimality: bool = True
    ipopt: dict[str, Any] = field(default_factory=dict)

    def options(self) -> SolverOptions:
        return SolverOptions(
            max_iter=self.max_iter,
            tol=self.tol,
            verbose=self.verbose,
            expand=self.expand,
            linear_solver=self.linear_solver,
            first_order_iterations=self.first_order_iterations,
            check_optimality=self.check_optimality,
            ipopt=self.ipopt,
        )


@dataclass(frozen=True)
class RunSettings:
    """Top-level keys read by the ``ocp`` layer; the rest belong to the problem type."""

    problem: str
    T: float = positive(1.0)
    K: int = at_least(1, 20)
    integrator: Literal["euler", "midpoint", "rk4"] = "rk4"
    steps: int = at_least(1, 1)
    parallelization: Literal["vectorized", "serial", "thread"] = "vectorized"  # how the batch is evaluated
    seed: int = 0
    solver: SolverSettings = field(default_factory=SolverSettings)

    def method(self) -> MultipleShooting:
        return MultipleShooting(
            K=self.K, integrator=integrator(self.integrator, self.steps), parallelization=self.parallelization
        )
