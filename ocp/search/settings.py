"""`SearchSettings`: everything a global search takes, in one object, each field checked where declared."""

from __future__ import annotations

from dataclasses import dataclass, field

from ocp.errors import ProblemError
from ocp.options import at_least, check_fields, open_interval, positive
from ocp.search.coverage import COVERAGE, EffortName, draws_needed
from ocp.search.strategies import Initialization
from ocp.search.tasks import Hops


def _default_mixture() -> tuple[Initialization, ...]:
    return (Initialization("first_order"), Initialization("simulate"), Initialization("adam"))


@dataclass(frozen=True)
class SearchSettings:
    """How a global search runs (`multistart`).

    effort : quick, default or thorough: the basin mass to cover (`coverage.COVERAGE`), which fixes the
        draws; portfolio: every start of ``starts`` with every strategy, the fixed portfolio of earlier
        versions, which claims nothing.
    coverage : a basin mass to cover instead of the effort's (e.g. 0.05: basins reached by 1 in 20 starts).
    confidence : the probability with which a basin of that mass is reached (the claim's 1 - alpha).
    strategies : the mixture the draws' strategies are drawn from, uniformly; the extras' arms too.
    first_start : strategies solved once from the caller's guess, as extras (a continuation in lambda).
    scale : random starts' controls are scale x N(0, 1).
    extra_share : the share of local searches that are extras rather than draws (`plan.CoveragePlan`).
    hops : basin hopping among the extras (None: no hops).
    starts : the portfolio's starts (start 0 the caller's guess).
    max_searches, time_budget : a budget of local searches, and of seconds, for the whole search.
    max_iter, max_seconds : caps on each solve's IPOPT iterations and wall time (part of what a draw is).
    patience : a solve running longer than patience x the median finished solve of its kind is stopped.
    workers : processes (None: one per core; 1 solves in this process). ``executor`` "dask" runs them on
        a Dask LocalCluster of ``workers`` or on the cluster whose scheduler is at ``scheduler``.
    seed : seeds every draw, extra start and hop.
    """

    effort: EffortName = "default"
    coverage: float | None = open_interval(0.0, 1.0, None)
    confidence: float = open_interval(0.0, 1.0, 0.95)
    strategies: tuple[Initialization, ...] = field(default_factory=_default_mixture)
    first_start: tuple[Initialization, ...] = ()
    scale: float = at_least(0.0, 1.0)
    extra_share: float = at_least(0.0, 0.25)
    hops: Hops | None = field(default_factory=Hops)
    starts: int = at_least(1, 8)
    max_searches: int | None = at_least(1, None)
    time_budget: float | None = positive(None)
    max_iter: int | None = at_least(1, None)
    max_seconds: float | None = positive(None)
    patience: float | None = at_least(1.0, None)
    workers: int | None = at_least(1, None)
    executor: str = "local"
    scheduler: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        check_fields(self, "multistart")
        if not self.extra_share < 1.0:
            raise ProblemError(f"multistart extra_share must be < 1, got {self.extra_share!r}")
        if not self.strategies:
            raise ProblemError("multistart needs at least one strategy")

    @property
    def portfolio(self) -> bool:
        return self.effort == "portfolio"

    @property
    def coverage_target(self) -> float | None:
        """The basin mass the search is to cover (None for the portfolio)."""
        if self.coverage is not None:
            return self.coverage
        return None if self.portfolio else COVERAGE[self.effort]

    @property
    def draws(self) -> int:
        """The draws the coverage target needs at the confidence (0 for the portfolio)."""
        target = self.coverage_target
        return 0 if target is None else draws_needed(target, self.confidence)
