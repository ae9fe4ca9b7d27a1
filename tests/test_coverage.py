"""The coverage claim's numbers (`ocp/search/coverage.py`) against values computed by hand, and the claim
itself against the exact miss probability of independent draws."""

import math

import numpy as np
import pytest

from ocp.search.coverage import draws_needed, good_turing, in_words, miss_probability_all, vouched_mass
from ocp.search.minima import hits_per_minimum
from ocp.search.settings import SearchSettings


def test_the_vouched_mass_and_the_draws_needed_match_hand_computed_values():
    # q = 1 - 0.05^(1/n): n = 1 -> 0.95, n = 2 -> 1 - sqrt(0.05) = 0.776393...,
    # n = 23 -> 0.122123... (exp(ln(0.05) / 23) = 0.877877)
    assert vouched_mass(1, 0.95) == pytest.approx(0.95, rel=1e-14)
    assert vouched_mass(2, 0.95) == pytest.approx(1 - math.sqrt(0.05), rel=1e-14)
    assert vouched_mass(23, 0.95) == pytest.approx(0.1221234, abs=1e-7)
    assert vouched_mass(0, 0.95) == 1.0
    # the fewest n with 0.75^n <= 0.05 is 11 (0.75^10 = 0.0563, 0.75^11 = 0.0422); 0.875^23 = 0.0465 and
    # 0.875^22 = 0.0531; 0.98^149 = 0.0493 and 0.98^148 = 0.0503
    assert (draws_needed(0.25, 0.95), draws_needed(0.125, 0.95), draws_needed(0.02, 0.95)) == (11, 23, 149)
    assert [SearchSettings(effort=e).draws for e in ("quick", "default", "thorough")] == [11, 23, 149]
    assert SearchSettings(effort="portfolio").draws == 0 and SearchSettings(coverage=0.05).draws == 59
    for n in (1, 5, 23, 149):  # the two are inverse: n draws vouch for q, and q needs n draws
        assert draws_needed(vouched_mass(n, 0.9), 0.9) == n
    assert miss_probability_all(0.25, 11) == pytest.approx(4 * 0.75**11, rel=1e-14)
    assert in_words(0.125) == "1 in 8" and in_words(0.02) == "1 in 50"


def test_good_turing_is_the_share_of_draws_that_reached_a_minimum_alone():
    # 10 draws: minima reached 5, 2, 1 and 1 times (one draw did not converge): two singletons -> 0.2
    assert good_turing([5, 2, 1, 1], 10) == pytest.approx(0.2, rel=1e-15)
    assert good_turing([10], 10) == 0.0 and good_turing([], 0) == 1.0
    assert hits_per_minimum([0.3, 0.1, 0.3 + 1e-9, 0.2, 0.1, 0.1]) == [3, 1, 2]  # 1e-9 apart: one minimum
    with pytest.raises(ValueError):
        good_turing([5, 6], 10)


def test_the_claim_holds_for_independent_draws_whatever_the_basin_sizes():
    """Simulated draws from landscapes of many shapes: a basin of mass p >= q(n) is missed by n draws in at most
    5 % of 4000 repetitions (plus binomial error), and Good-Turing's estimate is within 1/n of the mean unseen
    mass (its bias bound) up to sampling error."""
    rng = np.random.default_rng(0)
    for masses in ([0.13, 0.87], [0.125] * 8, [0.02] + [0.98 / 40] * 40, [0.5, 0.3, 0.15, 0.05]):
        masses = np.asarray(masses) / np.sum(masses)
        for n in (11, 23, 149):
            q = vouched_mass(n, 0.95)
            draws = rng.choice(len(masses), size=(4000, n), p=masses)
            for basin in np.flatnonzero(masses >= q):
                missed = np.mean(~np.any(draws == basin, axis=1))
                assert missed <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 4000), (masses, n, basin)
            counts = np.stack([np.bincount(row, minlength=len(masses)) for row in draws[:500]])
            unseen = np.mean([masses[c == 0].sum() for c in counts])
            estimate = np.mean([np.sum(c == 1) / n for c in counts])
            assert unseen - 0.01 <= estimate <= unseen + 1.0 / n + 0.01
