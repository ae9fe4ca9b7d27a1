"""Settings every config shares: problem type, horizon, grid, integrator, solver."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Literal

import numpy as np

from ocp.errors import ConfigError
from ocp.executors import ExecutorName
from ocp.options import at_least, declared_as, positive
from ocp.problem.integrators import IntegratorName, integrator
from ocp.problem.method import CollocationScheme, DirectCollocation, MultipleShooting, Parallelization
from ocp.search.coverage import EffortName
from ocp.search.settings import SearchSettings
from ocp.search.strategies import Initialization, StrategyName
from ocp.search.tasks import Hops
from ocp.solvers.gradient_flow import GradientFlowOptions
from ocp.solvers.ipopt import SolverOptions

SolverName = Literal["ipopt", "gradient_flow", "gauss_newton"]


@dataclass(frozen=True)
class SolverSettings(SolverOptions):
    """The ``solver:`` section: `SolverOptions`' fields (declared and checked there, once) and the solver
    that runs: ``name: gradient_flow`` (or ``solver: gradient_flow``) trains by gradient descent instead,
    with the ``gradient_flow:`` section (`GradientFlowOptions`); ``name: gauss_newton`` fits a least-squares
    problem by lifted Gauss-Newton (`ocp/solvers/gauss_newton.py`) with this section's max_iter, tol and verbose."""

    name: SolverName = "ipopt"

    def options(self) -> SolverOptions:
        """The library's options, without the choice of solver."""
        return SolverOptions(**{f.name: getattr(self, f.name) for f in fields(SolverOptions)})


@dataclass(frozen=True)
class MethodSettings:
    """The ``method:`` section: how the ODE is transcribed. ``kind: multiple_shooting`` (default: the
    ``integrator`` integrates each interval) or ``collocation`` (`ocp.DirectCollocation`: ``degree``
    collocation points of ``scheme`` radau or legendre per interval, the ODE a constraint at each;
    ``path_at_collocation_points`` also holds the path constraints there)."""

    kind: Literal["multiple_shooting", "collocation"] = "multiple_shooting"
    degree: int = at_least(1, 3)
    scheme: CollocationScheme = "radau"
    path_at_collocation_points: bool = False


@dataclass(frozen=True)
class MultistartSettings:
    """The ``multistart:`` section: the global search (`ocp/search/`, docs/global_search.md).

    ``effort`` names how much of the start distribution the search covers: its random draws (random
    controls ``scale`` x N(0, 1), each with a strategy drawn from the initialization section's strategy and
    ``extra_strategies``) reach any basin that holds at least 1 in 4 (quick), 1 in 8 (default) or 1 in
    50 (thorough) of that distribution with probability ``confidence``; ``coverage`` sets that share
    directly. Extras beside the draws (the configured start, ``first_start_strategies``, hops, more starts
    of what pays off here) take ``extra_share`` of the local searches and are never counted.
    ``effort: portfolio`` is the fixed portfolio of earlier versions: ``starts`` starts (start 0 the
    configured one) each with every strategy, no claim. ``starts: 1`` with no extra strategy is one plain
    solve, whatever the effort.
    """

    effort: EffortName = "default"
    coverage: float | None = declared_as(SearchSettings, "coverage", None)
    confidence: float = declared_as(SearchSettings, "confidence", 0.95)
    starts: int = at_least(1, 8)  # the portfolio's starts; 1 (and no extra strategy): one plain solve
    workers: int = at_least(0, 0)  # 0: one per core
    # where the local searches run (`ocp/executors.py`): local processes, or a Dask cluster (a LocalCluster of
    # ``workers``, or the running one whose scheduler is at ``scheduler``)
    executor: ExecutorName = "local"
    scheduler: str | None = None
    scale: float = at_least(0.0, 1.0)
    # the draws' mixture, beside the initialization section's strategy; [] draws with that strategy alone
    extra_strategies: tuple[StrategyName, ...] = ("simulate", "adam")
    # solved once from the configured start, as extras (left out where the problem marks no parameter to
    # continue in): on L1 the only strategy that found the best optimum of 2 of 12 instances
    first_start_strategies: tuple[StrategyName, ...] = ("continuation_parameter",)
    extra_share: float = declared_as(SearchSettings, "extra_share", 0.25)
    max_iter: int = declared_as(SearchSettings, "max_iter", 500)  # IPOPT iterations per solve before it is given up
    max_seconds: float = declared_as(SearchSettings, "max_seconds", 300.0)  # wall time per solve, likewise
    # a solve running longer than patience x the median finished solve is given up (`ocp/search/multistart.py`)
    patience: float = declared_as(SearchSettings, "patience", 10.0)
    time_budget: float | None = declared_as(SearchSettings, "time_budget", None)  # seconds for the whole search
    # basin hopping among the extras (`ocp/search/tasks.py`): restarts from the best solution so far with its
    # controls moved by hop_scale x their rms x N(0, 1); false leaves hops out
    hops: bool = True
    hop_scale: float = positive(1.0)
    max_searches: int | None = declared_as(SearchSettings, "max_searches", None)  # local searches in all

    def search_settings(self, strategies, first_start, seed: int, max_iter: int) -> SearchSettings:
        """The library's settings for these (``strategies``: the draws' mixture; ``max_iter``: the solver
        section's cap, if lower)."""
        return SearchSettings(
            effort=self.effort,
            coverage=self.coverage,
            confidence=self.confidence,
            strategies=tuple(strategies),
            first_start=tuple(first_start),
            scale=self.scale,
            extra_share=self.extra_share,
            hops=Hops(self.hop_scale) if self.hops else None,
            starts=self.starts,
            max_searches=self.max_searches,
            time_budget=self.time_budget,
            max_iter=min(self.max_iter, max_iter),
            max_seconds=self.max_seconds,
            patience=self.patience,
            workers=self.workers or None,
            executor=self.executor,
            scheduler=self.scheduler,
            seed=seed,
        )


@dataclass(frozen=True)
class RunSettings:
    """Top-level keys read by the ``ocp`` layer; the rest belong to the problem type."""

    problem: str
    T: float = positive(1.0)
    K: int = at_least(1, 20)
    integrator: IntegratorName = "rk4"
    steps: int = at_least(1, 1)
    # the stages of an implicit integrator (radau: order 2 degree - 1, gauss_legendre: 2 degree); null: 3
    integrator_degree: int | None = at_least(1, None)
    parallelization: Parallelization = "vectorized"  # how the batch is evaluated
    method: MethodSettings = field(default_factory=MethodSettings)
    # the nodes' times as fractions of T (K + 1 increasing values from 0 to 1); null: uniform. A problem type
    # may set it from its data through `Setup.run` (timeseries: the observation times)
    grid: tuple[float, ...] | None = None
    seed: int = 0
    solver: SolverSettings = field(default_factory=SolverSettings)
    gradient_flow: GradientFlowOptions = field(default_factory=GradientFlowOptions)
    initialization: Initialization = field(default_factory=Initialization)
    multistart: MultistartSettings = field(default_factory=MultistartSettings)

    def __post_init__(self) -> None:
        if self.integrator_degree is not None:
            try:
                integrator(self.integrator, self.steps, self.integrator_degree)
            except ValueError as err:
                raise ConfigError(f"'integrator_degree': {err}") from None
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

    def discretisation(self) -> MultipleShooting:
        """The transcription the ``method`` section names, on the configured grid."""
        grid = {"K": self.K, "parallelization": self.parallelization, "grid": self.grid}
        if self.method.kind == "collocation":
            m = self.method
            return DirectCollocation(
                **grid,
                degree=m.degree,
                scheme=m.scheme,
                steps=self.steps,  # elements per interval, as multiple shooting's integrator steps
                path_at_collocation_points=m.path_at_collocation_points,
            )
        return MultipleShooting(**grid, integrator=integrator(self.integrator, self.steps, self.integrator_degree))
