"""The fits recover known parameters from synthetic data (power law, exponential, stopping time)."""

import numpy as np
import pytest

import ocp
from ocp.analysis import exponential, power_law, stopping_time


def test_power_law_recovers_a_known_exponent():
    T = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    exact = power_law(T, 0.3 * T**-1.5)
    assert exact.alpha == pytest.approx(1.5, rel=1e-12) and exact.C == pytest.approx(0.3, rel=1e-12)
    assert exact.r2 == pytest.approx(1.0) and exact.points == 5
    noise = np.exp(np.random.default_rng(0).normal(0.0, 0.05, T.size))  # 5 % multiplicative noise
    noisy = power_law(T, 0.3 * T**-1.5 * noise)
    assert noisy.alpha == pytest.approx(1.5, abs=0.1) and noisy.r2 > 0.99


def test_exponential_fits_the_middle_window_only():
    t = np.linspace(0.0, 10.0, 101)
    # A turnpike profile: fast transient near 0, exp(-0.7 t) in the middle, a bump near the end.
    v = 2.0 * np.exp(-0.7 * t) + np.where(t > 9.0, 1.0, 0.0)
    fit = exponential(t, v)
    assert fit.window == (2.0, 8.0)
    assert fit.mu == pytest.approx(0.7, rel=1e-9) and fit.C == pytest.approx(2.0, rel=1e-9) and fit.r2 > 0.999999
    whole = exponential(t, v, window=(0.0, 1.0))  # the end arc spoils a fit over all of [0, T]
    assert whole.r2 < 0.9
    absolute = exponential(t, v, window=(3.0, 5.0), absolute=True)
    assert absolute.window == (3.0, 5.0) and absolute.mu == pytest.approx(0.7, rel=1e-9)


def test_exponential_skips_exact_zeros_and_refuses_too_few_points():
    t = np.linspace(0.0, 1.0, 11)
    v = np.exp(-3.0 * t)
    v[5] = 0.0
    assert exponential(t, v).mu == pytest.approx(3.0, rel=1e-9)
    with pytest.raises(ocp.ProblemError, match="at least 2 points"):
        exponential(t, np.zeros_like(t))


def test_stopping_time_is_the_first_time_after_which_the_norm_stays_small():
    t = np.arange(10) * 0.5  # left ends of 10 intervals on [0, 5]
    norms = np.array([3.0, 2.0, 1e-9, 1.0, 0.5, 1e-9, 0.0, 1e-10, 0.0, 0.0])  # a zero at 1.0 that does not last
    assert stopping_time(t, norms, tolerance=1e-6) == 2.5
    assert stopping_time(t, np.r_[norms[:-1], 1.0], tolerance=1e-6) is None  # acts until the end: no T*
    assert stopping_time(t, np.zeros(10), tolerance=1e-6) == 0.0
    with pytest.raises(ocp.ProblemError, match="tolerance must be > 0"):
        stopping_time(t, norms, tolerance=0.0)


def test_fitted_rates_carry_95_percent_confidence_intervals_that_cover_the_true_rate():
    """Exact data: an interval of width ~0 around the true rate. Log-normal noise: over 400 data sets the
    intervals of power_law and exponential cover the true rate about 95 % of the time (binomial spread
    of 400 draws: 0.92-0.98)."""
    import numpy as np

    from ocp.analysis import exponential, power_law

    exact = power_law([1, 2, 4, 8], [3.0 * T**-1.2 for T in (1, 2, 4, 8)])
    assert exact.alpha_ci95[1] - exact.alpha_ci95[0] < 1e-9 and exact.alpha_ci95[0] <= 1.2 + 1e-9
    rng = np.random.default_rng(0)
    T, t = np.geomspace(1, 64, 7), np.linspace(0, 10, 21)
    covered = {"power_law": 0, "exponential": 0}
    for _ in range(400):
        fit = power_law(T, 2.0 * T**-0.8 * np.exp(0.1 * rng.standard_normal(T.size)))
        covered["power_law"] += fit.alpha_ci95[0] <= 0.8 <= fit.alpha_ci95[1]
        decay = exponential(t, np.exp(-0.5 * t + 0.1 * rng.standard_normal(t.size)), window=(0.0, 1.0))
        covered["exponential"] += decay.mu_ci95[0] <= 0.5 <= decay.mu_ci95[1]
    for name, hits in covered.items():
        assert 0.92 <= hits / 400 <= 0.98, (name, hits)
