"""What a search's independent draws vouch for: the coverage claim, its stop rule and the effort names.

A draw is one local search from the search's fixed start distribution: random
controls scale x N(0, 1) and a strategy drawn from a fixed mixture, each
seeded by (seed, draw), solved as the search solves every start (its caps
included). Every basin B of the landscape then has a mass m_B, the chance
that one draw ends in B. Draws are independent, so a basin of mass m_B is
missed by all of n draws with probability (1 - m_B)^n. Hence, with

    q = 1 - alpha^(1 / n),

any given basin of mass at least q (the global minimum's in particular) has
been reached with probability at least 1 - alpha. This holds whatever the
landscape: no prior on the number of basins or their sizes, no assumption
that the global basin is large. It is a statement per basin; for every basin
of mass at least q at once (there are at most 1 / q of them), the union
bound gives a miss probability of at most floor(1 / q) (1 - q)^n.

The claim needs only that the draws are independent draws of one fixed
distribution. Hops, the caller's own guess, warm starts, continuations and
extra starts whose strategy was chosen from what earlier solves found are
extra candidates: they can only improve the answer and are never counted.

The total mass of the basins not seen is estimated by Good-Turing: the number
of minima that exactly one draw reached, over n. Its expectation is at least
the expected unseen mass and exceeds it by at most 1 / n (the bias is
sum_B m_B^2 (1 - m_B)^(n - 1) <= max_m m (1 - m)^(n - 1) <= 1 / n). It is an
estimate, not a bound.
"""

from __future__ import annotations

import math
from typing import Literal

EffortName = Literal["quick", "default", "thorough", "portfolio"]

# the basin mass each effort vouches for at the search's confidence (0.95 by default): `draws_needed` turns
# it into draws. "thorough" is fixed by the issue that asked for it (2 %); "default" and "quick" by cost on
# the tuning half of benchmarks/search_set.py (docs/global_search.md, "Choosing the efforts"). "portfolio"
# is the fixed portfolio of earlier versions: every start with every strategy, no claim.
COVERAGE: dict[str, float] = {"quick": 0.25, "default": 0.125, "thorough": 0.02}


def vouched_mass(draws: int, confidence: float) -> float:
    """q: the smallest basin mass that ``draws`` independent draws reach with probability >= ``confidence``
    (1.0 for no draws: nothing is vouched for)."""
    _check_confidence(confidence)
    if not isinstance(draws, int) or draws < 0:
        raise ValueError(f"draws must be an integer >= 0, got {draws!r}")
    return 1.0 - (1.0 - confidence) ** (1.0 / draws) if draws else 1.0


def draws_needed(mass: float, confidence: float) -> int:
    """The fewest draws n with vouched_mass(n, confidence) <= mass: (1 - mass)^n <= 1 - confidence."""
    _check_confidence(confidence)
    if not 0.0 < mass < 1.0:
        raise ValueError(f"the basin mass to cover must be in (0, 1), got {mass!r}")
    n = math.ceil(math.log(1.0 - confidence) / math.log(1.0 - mass) - 1e-12)
    return max(1, n)


def miss_probability_all(mass: float, draws: int) -> float:
    """Union bound: the chance that some basin of mass >= ``mass`` is missed by every one of ``draws`` draws."""
    return min(1.0, math.floor(1.0 / mass) * (1.0 - mass) ** draws)


def good_turing(hits_per_minimum: list[int], draws: int) -> float:
    """The Good-Turing estimate of the unseen mass: minima reached by exactly one draw, over the draws
    (``hits_per_minimum``: how many draws reached each minimum seen; 1.0 for no draws)."""
    if draws <= 0:
        return 1.0
    if sum(hits_per_minimum) > draws or any(h < 1 for h in hits_per_minimum):
        raise ValueError(f"hits {hits_per_minimum} do not fit {draws} draws")
    return sum(1 for h in hits_per_minimum if h == 1) / draws


def in_words(mass: float) -> str:
    """'1 in 8' for 0.125: how a coverage reads on the command line."""
    return f"1 in {1.0 / mass:.3g}" if mass > 0 else "none"


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
