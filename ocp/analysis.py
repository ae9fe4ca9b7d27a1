"""Fits that test the papers' asymptotic claims on solutions, each with its quality.

- `power_law`: final training error against the horizon, E(T) ~ C T^-alpha
  (claim A1: alpha >= 1 for homogeneous dynamics), by least squares in log-log.
- `exponential`: a quantity along one trajectory, v(t) ~ C exp(-mu t), over a
  window in the middle of [0, T] (claim A2, the turnpike: mu independent of T).
  The ends are excluded because the turnpike has a transient arc at each end.
- `stopping_time`: the first grid time after which a control norm stays below
  a tolerance (claim B: L1 solutions stop acting at T* < T).

All three take arrays, so they serve single solves, sweeps and stored results
alike. Each fitted rate comes with its 95 % confidence interval: the slope's
standard error from `scipy.stats.linregress` times the t quantile for n - 2
degrees of freedom (undefined, NaN, with two points).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import scipy.stats

from ocp.errors import ProblemError

MIDDLE = (0.2, 0.8)  # default window of `exponential`, as fractions of [t_0, t_end]


@dataclass(frozen=True)
class PowerLaw:
    """y ~ C x^-alpha, fitted on ``points`` pairs; ``r2`` of the log-log line."""

    C: float
    alpha: float
    r2: float
    points: int
    alpha_ci95: tuple[float, float] = (float("nan"), float("nan"))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.C * np.asarray(x, dtype=float) ** -self.alpha

    def as_dict(self) -> dict:
        return asdict(self)

    def rate_text(self) -> str:
        """alpha with its 95 % confidence interval and R^2, as the reports print it."""
        lo, hi = self.alpha_ci95
        return f"{self.alpha:.3f} (95 % CI {lo:.3f} to {hi:.3f}, R^2 {self.r2:.3f})"


@dataclass(frozen=True)
class Exponential:
    """y ~ C exp(-mu t) on [window[0], window[1]]; ``r2`` of the semilog line."""

    C: float
    mu: float
    r2: float
    window: tuple[float, float]
    points: int
    mu_ci95: tuple[float, float] = (float("nan"), float("nan"))

    def __call__(self, t: np.ndarray) -> np.ndarray:
        return self.C * np.exp(-self.mu * np.asarray(t, dtype=float))

    def as_dict(self) -> dict:
        return asdict(self)


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Least-squares slope, intercept, R^2 of y against x, and the half-width of the slope's 95 %
    confidence interval (NaN with two points)."""
    fit = scipy.stats.linregress(x, y)
    residual = y - (fit.slope * x + fit.intercept)
    total = np.sum((y - y.mean()) ** 2)
    r2 = 1.0 - float(np.sum(residual**2) / total) if total > 0 else 1.0
    half = float(scipy.stats.t.ppf(0.975, x.size - 2) * fit.stderr) if x.size > 2 else float("nan")
    return float(fit.slope), float(fit.intercept), r2, half


def _positive_pairs(x: Sequence[float], y: Sequence[float], what: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ProblemError(f"{what}: x and y differ in length ({x.size} and {y.size})")
    keep = np.isfinite(x) & np.isfinite(y) & (y > 0)
    if keep.sum() < 2:
        raise ProblemError(f"{what}: needs at least 2 points with finite, positive values, got {int(keep.sum())}")
    return x[keep], y[keep]


def power_law(T: Sequence[float], error: Sequence[float]) -> PowerLaw:
    """Fit error ~ C T^-alpha over the given horizons (T > 0; non-positive errors are skipped)."""
    T, error = _positive_pairs(T, error, "power_law")
    if np.any(T <= 0):
        raise ProblemError("power_law: horizons T must be > 0")
    slope, intercept, r2, half = _line(np.log(T), np.log(error))
    ci = (-slope - half, -slope + half)
    return PowerLaw(C=float(np.exp(intercept)), alpha=-slope, r2=r2, points=int(T.size), alpha_ci95=ci)


def exponential(
    t: Sequence[float],
    values: Sequence[float],
    window: tuple[float, float] = MIDDLE,
    absolute: bool = False,
    floor: float = 0.0,
) -> Exponential:
    """Fit values ~ C exp(-mu t) on a window of the time grid.

    ``window``: fractions of [t_0, t_end] (default: the middle 60 %), or times
    when ``absolute``. Values <= ``floor`` are skipped: exact zeros, and values
    at the level of the solver's tolerance, whose logarithm is noise.
    """
    t_all = np.asarray(t, dtype=float).ravel()
    if t_all.size < 2:
        raise ProblemError("exponential: needs a time grid of at least 2 points")
    lo, hi = window
    if not absolute:
        span = t_all[-1] - t_all[0]
        lo, hi = t_all[0] + lo * span, t_all[0] + hi * span
    if not lo < hi:
        raise ProblemError(f"exponential: empty window [{lo}, {hi}]")
    v_all = np.asarray(values, dtype=float).ravel()
    inside = (t_all >= lo) & (t_all <= hi) & ~(v_all <= floor)
    t_fit, v_fit = _positive_pairs(t_all[inside], v_all[inside], "exponential")
    slope, intercept, r2, half = _line(t_fit, np.log(v_fit))
    return Exponential(
        C=float(np.exp(intercept)),
        mu=-slope,
        r2=r2,
        window=(float(lo), float(hi)),
        points=t_fit.size,
        mu_ci95=(-slope - half, -slope + half),
    )


def stopping_time(t: Sequence[float], norms: Sequence[float], tolerance: float) -> float | None:
    """The first grid time after which ``norms`` stay <= ``tolerance``; None if the last value exceeds it.

    ``t`` holds the left ends of the intervals on which ``norms`` are taken
    (piecewise-constant controls: t_k for interval k), or node times for
    node values. A tolerance tied to the solver's (e.g. 10 x IPOPT's tol)
    separates exact zeros from small controls.
    """
    t, norms = np.asarray(t, dtype=float).ravel(), np.asarray(norms, dtype=float).ravel()
    if t.shape != norms.shape or t.size == 0:
        raise ProblemError(f"stopping_time: t and norms must have the same non-zero length ({t.size}, {norms.size})")
    if not tolerance > 0:
        raise ProblemError(f"stopping_time: tolerance must be > 0, got {tolerance}")
    above = np.flatnonzero(~(norms <= tolerance))
    if above.size == 0:
        return float(t[0])
    last = above[-1]
    return None if last == t.size - 1 else float(t[last + 1])
