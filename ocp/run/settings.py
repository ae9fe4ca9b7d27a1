"""Settings every config shares: problem type, horizon, grid, integrator, solver."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np

from ocp.errors import ConfigError
from ocp.executors import ExecutorName
from ocp.options import at_least, declared_as, positive
from ocp.problem.integrators import IntegratorName, integrator
from ocp.problem.method import MultipleShooting, Parallelization
from ocp.search.multistart import SearchLimits
from ocp.search.plan import Hops
from ocp.search.strategies import Initialization, StrategyName
from ocp.solvers.gradient_flow import GradientFlowOptions
from ocp.solvers.ipopt import SolverOptions

SolverName = Literal["ipopt", "gradient_flow"]


@dataclass(frozen=True)
class SolverSection(SolverOptions):
    """The ``solver:`` section: `SolverOptions`' fields (declared and checked there, once) and the solver
    that runs: ``name: gradient_flow`` (or ``solver: gradient_flow``) trains by gradient descent instead,
    with the ``gradient_flow:`` section (`GradientFlowOptions`)."""

    name: SolverName = "ipopt"

    def options(self) -> SolverOptions:
        """The library's options, without the choice of solver."""
        return SolverOptions(**{f.name: getattr(self, f.name) for f in fields(SolverOptions)})


@dataclass(frozen=True)
class MultistartSettings:
    """The ``multistart:`` section (`ocp/search/multistart.py`): start 0 is the problem's own guess,
    starts 1.. draw controls ``scale`` x N(0, 1) seeded by (seed, i).

    The start tasks of the search (hops and the stopping rule: the fields below) are eight starts, each
    solved with first_order, simulate and adam, by default:
    one start from a small random guess lands 11 % above the target on the
    shared N = 400 instance and up to 5x above the best optimum on XOR, and no
    single strategy, nor any pair of them, came within 0.1 % of the best
    optimum found on every A1 and A2 instance of benchmarks/README.md
    ("strategies.py"), while this portfolio of three did (35 of 36 instances
    with the L1 ones, where it is simulate alone). The cap of 500 iterations
    covers the slowest converged start measured there (261).
    """

    starts: int = at_least(1, 8)
    workers: int = at_least(0, 0)  # 0: one per core
    # where the local searches run (`ocp/executors.py`): local processes, or a Dask cluster (a LocalCluster of
    # ``workers``, or the running one whose scheduler is at ``scheduler``)
    executor: ExecutorName = "local"
    scheduler: str | None = None
    scale: float = at_least(0.0, 1.0)
    # each start is also solved with these, beside the initialization section's strategy (a portfolio);
    # [] solves each start with that strategy alone
    extra_strategies: tuple[StrategyName, ...] = ("simulate", "adam")
    # solved once more, from start 0 only (left out where the problem marks no parameter to continue in):
    # on L1 the only strategy that found the best optimum of 2 of 12 instances, at about 1.5 plain solves
    first_start_strategies: tuple[StrategyName, ...] = ("continuation_parameter",)
    max_iter: int = declared_as(SearchLimits, "max_iter", 500)  # IPOPT iterations per solve before it is given up
    max_seconds: float = declared_as(SearchLimits, "max_seconds", 300.0)  # wall time per solve, likewise
    # a solve running longer than patience x the median finished solve is given up (`ocp/search/multistart.py`)
    patience: float = declared_as(SearchLimits, "patience", 10.0)
    # stop once the probability that the best minimum found is the global one reaches this (`ocp/search/basins.py`);
    # null runs to the budget (with hops: false and max_searches: null, the portfolio of earlier versions)
    confidence: float | None = declared_as(SearchLimits, "confidence", 0.95)
    time_budget: float | None = declared_as(SearchLimits, "time_budget", None)  # seconds for the whole search
    # basin hopping (`ocp/search/plan.py`): local searches that restart from the best solution so far with its
    # controls moved by hop_scale x their rms x N(0, 1), beside the start tasks; false solves the starts alone
    hops: bool = True
    hop_scale: float = positive(1.0)
    # local searches in all (null: every start task once, twice that with hops)
    max_searches: int | None = declared_as(SearchLimits, "max_searches", 24)

    def search_arguments(self) -> dict[str, Any]:
        """The keyword arguments of `ocp.search.multistart.multistart` these settings make (caps, patience,
        stopping rule, hops, budget)."""
        return {
            "max_iter": self.max_iter,
            "max_seconds": self.max_seconds,
            "patience": self.patience,
            "confidence": self.confidence,
            "time_budget": self.time_budget,
            "hops": Hops(self.hop_scale) if self.hops else None,
            "max_searches": self.max_searches,
            "executor": self.executor,
            "scheduler": self.scheduler,
        }


@dataclass(frozen=True)
class RunSettings:
    """Top-level keys read by the ``ocp`` layer; the rest belong to the problem type."""

    problem: str
    T: float = positive(1.0)
    K: int = at_least(1, 20)
    integrator: IntegratorName = "rk4"
    steps: int = at_least(1, 1)
    parallelization: Parallelization = "vectorized"  # how the batch is evaluated
    # the nodes' times as fractions of T (K + 1 increasing values from 0 to 1); null: uniform. A problem type
    # may set it from its data through `Setup.run` (timeseries: the observation times)
    grid: tuple[float, ...] | None = None
    seed: int = 0
    solver: SolverSection = field(default_factory=SolverSection)
    gradient_flow: GradientFlowOptions = field(default_factory=GradientFlowOptions)
    initialization: Initialization = field(default_factory=Initialization)
    multistart: MultistartSettings = field(default_factory=MultistartSettings)

    def __post_init__(self) -> None:
        if self.grid is not None:
            tau = np.asarray(self.grid, dtype=float)
            if tau.size != self.K + 1 or tau[0] != 0.0 or tau[-1] != 1.0 or np.any(np.diff(tau) <= 0):
                raise ConfigError(f"'grid' must hold K + 1 = {self.K + 1} increasing values from 0 to 1")

    def initializations(self) -> list[Initialization]:
        """The strategies each start is solved with (settings from the ``initialization:`` section):
        the initialization strategy, then the multistart's extra ones. A single solve
        (``starts: 1`` and no extra strategy) uses the initialization strategy alone."""
        extra = [name for name in self.multistart.extra_strategies if name != self.initialization.strategy]
        names = [self.initialization.strategy, *dict.fromkeys(extra)]
        return [replace(self.initialization, strategy=name) for name in names]

    def first_start_initializations(self) -> list[Initialization]:
        """The strategies a multi-start also solves from start 0 alone (settings from ``initialization:``)."""
        names = dict.fromkeys(self.multistart.first_start_strategies)
        return [replace(self.initialization, strategy=name) for name in names]

    def method(self) -> MultipleShooting:
        return MultipleShooting(
            K=self.K,
            integrator=integrator(self.integrator, self.steps),
            parallelization=self.parallelization,
            grid=self.grid,
        )
