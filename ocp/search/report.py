"""What a global search did and what it can vouch for: `SearchReport`, on the returned solution's
``start.multistart`` (and so in summary.json), and the command line's words for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocp.search.coverage import in_words
from ocp.solvers.records import Record


@dataclass(frozen=True)
class SearchReport(Record):
    """A search's report. The coverage fields come from the draws alone (`coverage.py`):

    unseen_basin_mass : q = 1 - (1 - confidence)^(1 / draws): any given basin holding at least this share
        of the start distribution (the global minimum's included) was reached with probability at least
        ``unseen_basin_confidence``. 1.0 with no draws (the portfolio, or a search stopped before any).
    unseen_basin_miss_bound_all : the chance that some basin of at least that mass was missed (union bound).
    good_turing_unseen_mass : an estimate of the total mass of the basins no draw reached: the minima one
        draw alone reached, over the draws.
    model_based_estimate : Boender and Rinnooy Kan's Bayesian posterior (`basins.py`) on the converged
        draws, under its priors: a model-based estimate, not a guarantee.
    """

    effort: str
    strategies: list[str]  # the mixture the draws are drawn from (uniform), or the portfolio's strategies
    coverage_target: float | None  # the basin mass the effort asked to cover (None: the portfolio)
    unseen_basin_confidence: float
    draws: int  # draws completed (a draw that failed to converge reached no minimum, and still counts)
    draws_needed: int  # for the coverage target
    unseen_basin_mass: float
    unseen_basin_miss_bound_all: float
    good_turing_unseen_mass: float
    draw_minima_hits: list[int]  # how many draws reached each minimum the draws saw, best first
    model_based_estimate: dict[str, Any]
    extras: dict[str, dict[str, int]]  # per arm of `bandit.py`: extras given and new bests its solves found
    stop_reason: str
    local_searches: int  # converged local searches of every kind
    best_hits: int  # how many of them reached the returned minimum
    best_position: int
    best_role: str  # draw, guess, warm, extra, hop or portfolio
    best_start: int | None  # the draw, extra or caller's start number (None for a hop or warm start)
    best_strategy: str
    solves: list[dict[str, Any]]
    objectives: list[float]
    succeeded: list[bool]
    errors: dict[str, str]
    stopped_for_patience: int
    workers: int
    time_s: float
    converged: int
    best: float | None
    median: float | None
    worst: float | None
    distinct: int
    warm_start: bool = False
    starts: int | None = None  # the portfolio's starts

    def found_by(self) -> str:
        """Which local search found the returned minimum, in words."""
        strategy = self.best_strategy.removeprefix("hop (").rstrip(")")
        return {
            "draw": f"draw {self.best_start} ({strategy})",
            "guess": f"the configured start ({strategy})",
            "warm": "the previous point's solution",
            "extra": f"extra start {self.best_start} ({strategy})",
            "hop": f"a hop ({strategy})",
            "portfolio": f"start {self.best_start} ({strategy})",
        }[self.best_role]

    def line(self) -> str:
        """What the search covered and what it did not, in one line."""
        head = (
            f"search: {self.local_searches} local searches reached {self.distinct} distinct minima, "
            f"the best {self.best_hits} times"
        )
        if self.draws == 0:
            return f"{head}; no random draws, so no coverage is claimed; stopped: {self.stop_reason}"
        q = self.unseen_basin_mass
        return (
            f"{head}; {self.draws} random draws: a basin reached by at least {in_words(q)} starts would have been "
            f"found with probability {self.unseen_basin_confidence:.0%}, basins reached by fewer than {in_words(q)} "
            f"starts were not covered; estimated unseen share of starts (Good-Turing): "
            f"{self.good_turing_unseen_mass:.2f}; stopped: {self.stop_reason}"
        )
