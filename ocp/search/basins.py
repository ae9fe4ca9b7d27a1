"""How many local minima are still unseen: a Bayesian, model-based estimate, reported beside the coverage claim.

After n local searches from independent random starts have reached w distinct
local minima, Boender and Rinnooy Kan ("Bayesian stopping rules for multistart
global optimization methods", Math. Programming 37, 1987) treat the number of
minima K and the relative sizes of their regions of attraction as unknown,
with a uniform (Dirichlet(1, ..., 1)) prior on the sizes and a flat prior on
K. The observed (n, w) is then a sufficient statistic for K (how often each
minimum was hit does not change the posterior of K), and

    P(K = k | n, w)  proportional to  k! (k - 1)! / ((k - w)! (n + k - 1)!),  k >= w,

which is proper for n >= w + 2. Closed forms, each a sum of Beta integrals
(the derivations are in docs/global_search.md):

    E[K]                       = w (n - 1) / (n - w - 2)            (n >= w + 3)
    P(K = w), all minima seen  = prod_{i=1..w} (n - 1 - i) / (n - 1 + i)
    E[unseen relative size]    = w (w + 1) / (n (n - 1))            (the chance that
                                 the next local search finds a new minimum)
    P(the global one is seen)  = E[w / K] = (n - w - 1) / (n - 1)

The last one assumes only that which basin holds the global minimum does not
depend on how large the basins are: given K, each of the K basins is equally
likely to be the global one, so the chance that it is among the w seen is
w / K. ``1 - (n - w - 1) / (n - 1) = w / (n - 1)`` is the reported
probability that a better minimum exists. It is conservative by design (the
flat priors): with one minimum seen n times it is 1 / (n - 1), so 0.05 needs
21 local searches that all agree. It is only as good as those priors (on a
landscape where a small basin holds the global minimum it claimed 0.95 and
was wrong), so the search no longer stops on it: it is reported, computed on
the draws, as ``model_based_estimate`` (`coverage.py` holds the claim).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Estimate:
    """What n local searches reaching w distinct minima say about the minima not seen.

    Fields that the posterior does not define for so few searches are ``inf``
    (the expected number) or 0 (the probabilities that everything, or the
    global minimum, has been seen).
    """

    searches: int  # n: converged local searches
    distinct: int  # w: distinct minima among them
    expected_minima: float  # E[K]
    probability_all_seen: float  # P(K = w)
    probability_next_is_new: float  # E[relative size of the unseen regions of attraction]
    probability_best_is_global: float  # E[w / K]

    @property
    def expected_unseen(self) -> float:
        return self.expected_minima - self.distinct

    @property
    def probability_better_exists(self) -> float:
        return 1.0 - self.probability_best_is_global

    def as_dict(self) -> dict:
        """The fields for a report; an expectation that is not finite (too few searches) is None, so the
        report stays standard JSON."""
        values = asdict(self) | {
            "expected_unseen": self.expected_unseen,
            "probability_better_exists": self.probability_better_exists,
        }
        return {key: None if value == math.inf else value for key, value in values.items()}


def estimate(n: int, w: int) -> Estimate:
    """The posterior quantities of the module docstring for n searches and w distinct minima."""
    if not (isinstance(n, int) and isinstance(w, int)) or n < 0 or w < 0 or w > n or (n > 0 and w == 0):
        raise ValueError(f"need integers 0 < w <= n (or n = w = 0), got n = {n!r}, w = {w!r}")
    if n < w + 2:  # the posterior of K is improper: nothing can be said yet
        return Estimate(n, w, math.inf, 0.0, 1.0, 0.0)
    expected = w * (n - 1) / (n - w - 2) if n >= w + 3 else math.inf
    all_seen = math.prod((n - 1 - i) / (n - 1 + i) for i in range(1, w + 1))
    return Estimate(
        searches=n,
        distinct=w,
        expected_minima=expected,
        probability_all_seen=all_seen,
        probability_next_is_new=w * (w + 1) / (n * (n - 1)),
        probability_best_is_global=(n - w - 1) / (n - 1),
    )


def posterior(n: int, w: int, k_max: int) -> list[float]:
    """P(K = k | n, w) for k = w ... k_max, normalised over that range (for checks and plots; the
    closed forms above are exact, this truncated sum converges to them as k_max grows)."""
    if n < w + 2:
        raise ValueError(f"the posterior is improper for n < w + 2 (n = {n}, w = {w})")
    logs = [
        math.lgamma(k + 1) + math.lgamma(k) - math.lgamma(k - w + 1) - math.lgamma(n + k) for k in range(w, k_max + 1)
    ]
    top = max(logs)
    weights = [math.exp(v - top) for v in logs]
    total = sum(weights)
    return [v / total for v in weights]


def searches_needed(w: int, confidence: float) -> int:
    """The fewest local searches n at which w distinct minima give P(best is global) >= confidence:
    (n - w - 1) / (n - 1) >= c  <=>  n >= 1 + w / (1 - c)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return max(w + 2, math.ceil(1 + w / (1.0 - confidence) - 1e-9))
