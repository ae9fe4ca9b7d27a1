"""The Bayesian stopping rule (`ocp/search/basins.py`) against hand-computed values and its own posterior."""

import math

import pytest

from ocp.search.basins import estimate, posterior, searches_needed


def test_closed_forms_match_hand_computed_values():
    # n = 5 searches, w = 1 minimum: E[K] = 1 * 4 / 2 = 2; P(K = 1) = (5 - 2) / (5) = 0.6;
    # unseen mass 1 * 2 / (5 * 4) = 0.1; P(best is global) = (5 - 1 - 1) / 4 = 0.75
    e = estimate(5, 1)
    assert e.expected_minima == pytest.approx(2.0, rel=1e-15)
    assert e.probability_all_seen == pytest.approx(0.6, rel=1e-15)
    assert e.probability_next_is_new == pytest.approx(0.1, rel=1e-15)
    assert e.probability_best_is_global == pytest.approx(0.75, rel=1e-15)
    assert e.probability_better_exists == pytest.approx(0.25, rel=1e-15)
    # n = 25, w = 3: E[K] = 3 * 24 / 20 = 3.6; P(K = 3) = (23 * 22 * 21) / (25 * 26 * 27) = 0.60547...
    e = estimate(25, 3)
    assert e.expected_minima == pytest.approx(3.6, rel=1e-15)
    assert e.expected_unseen == pytest.approx(0.6, rel=1e-14)
    assert e.probability_all_seen == pytest.approx(23 * 22 * 21 / (25 * 26 * 27), rel=1e-15)
    assert e.probability_best_is_global == pytest.approx(21 / 24, rel=1e-15)


@pytest.mark.parametrize("n, w", [(5, 1), (10, 2), (25, 3), (40, 7)])
def test_closed_forms_equal_sums_over_the_posterior_of_K(n, w):
    """The posterior P(K = k) ~ k! (k-1)! / ((k-w)! (n+k-1)!) summed numerically (tail below 1e-9 at k_max)."""
    k_max = 400_000
    p = posterior(n, w, k_max)
    ks = range(w, k_max + 1)
    assert sum(p) == pytest.approx(1.0, rel=1e-12)
    assert p[0] == pytest.approx(estimate(n, w).probability_all_seen, rel=1e-6)
    assert sum(pk * w / k for pk, k in zip(p, ks, strict=True)) == pytest.approx(
        estimate(n, w).probability_best_is_global, rel=1e-6
    )
    if n >= w + 4:  # E[K] converges slowly (tail ~ k^(w-n+1)); check where it is well inside k_max
        assert sum(pk * k for pk, k in zip(p, ks, strict=True)) == pytest.approx(
            estimate(n, w).expected_minima, rel=1e-3
        )


def test_too_few_searches_say_nothing_and_all_distinct_says_everything_is_unseen():
    assert estimate(0, 0).probability_best_is_global == 0.0
    assert estimate(2, 1).probability_best_is_global == 0.0  # posterior improper for n < w + 2
    e = estimate(25, 25)
    assert (e.probability_best_is_global, e.expected_minima) == (0.0, math.inf)
    assert estimate(3, 1).expected_minima == math.inf  # E[K] needs n >= w + 3
    assert estimate(3, 1).as_dict()["expected_minima"] is None  # and a report says so in standard JSON


def test_searches_needed_is_the_first_n_that_passes():
    for w in (1, 2, 5):
        for c in (0.5, 0.9, 0.95):
            n = searches_needed(w, c)
            assert estimate(n, w).probability_best_is_global >= c
            assert n == w + 2 or estimate(n - 1, w).probability_best_is_global < c
    assert searches_needed(1, 0.95) == 21


@pytest.mark.parametrize("n, w", [(-1, 0), (3, 0), (2, 3), (2.0, 1)])
def test_bad_counts_are_refused(n, w):
    with pytest.raises(ValueError, match="0 < w <= n"):
        estimate(n, w)
