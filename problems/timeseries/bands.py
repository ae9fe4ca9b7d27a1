"""Prediction bands of a fitted time-series model: the Laplace (Gauss-Newton) covariance of the fitted
parameters, propagated to the free run by linearisation.

The fit minimises (1/n) sum r^2 + lambda ||theta||^2 over the n observed training entries, in model units
(`model.py`). Read as a maximum a posteriori estimate: the residuals are independent N(0, sigma^2), one
sigma for every state entry in model units (the objective weighs them alike), the prior on the weights is
theta ~ N(0, sigma^2 / (n lambda) I) and flat on the free initial states (n / (2 sigma^2) times the objective
is then the negative log posterior). With G the Jacobian of the free run's predictions at the observed
training entries with respect to p = (each member's initial state, theta), the Gauss-Newton approximation of
the posterior covariance is

    Sigma = sigma^2 A^+,   A = G^T G + D,   D = n lambda on theta's diagonal, 0 on the initial states',

with sigma^2 = RSS / (n - p_eff), p_eff = trace(A^+ G^T G) (the hat matrix's trace: the number of
parameters the data determine). Directions in which A's eigenvalue is below EIGENVALUE_FLOOR x its largest
(an overparametrised network with lambda = 0) are dropped (pseudo-inverse): the band then leaves out what
the data say nothing about, and is too narrow wherever such a direction moves the prediction.

The band of the noise-free trajectory at t is x(t) +- q sqrt(g^T Sigma g), g = dx(t)/dp (forward
sensitivities along the free run, scipy), q the Student-t quantile of the level with n - p_eff degrees of
freedom; the band of a new observation adds sigma^2 under the root. Both are first order in the parameters'
error: the wider the band against the curvature of the model, the less it means.
"""

from __future__ import annotations

from dataclasses import dataclass

import casadi as ca
import numpy as np
from scipy.integrate import solve_ivp
from scipy.stats import t as student_t

from .model import TimeSeriesContext
from .series import Series

EIGENVALUE_FLOOR = 1e-12  # of the largest eigenvalue of G^T G + D


@dataclass(frozen=True)
class Run:
    """A member's free run and its sensitivities at ``t``, in model units (NaN after a run that blew up)."""

    t: np.ndarray  # (m,)
    z: np.ndarray  # (m, nx)
    jacobian: np.ndarray  # (m, nx, q): dz/d(z0 if free, theta)


def sensitivity_field(ctx: TimeSeriesContext) -> ca.Function:
    """(z, u, theta) -> (f, df/dz, df/dtheta) of the fitted model in model units."""
    f, theta = ctx.model.field, ctx.model.theta
    return ca.Function(
        "sensitivities",
        [ctx.state, ctx.inputs, theta],
        [f, ca.jacobian(f, ctx.state), ca.jacobian(f, theta)],
    )


def free_run_with_sensitivities(
    ctx: TimeSeriesContext, function: ca.Function, theta: np.ndarray, z0: np.ndarray, member: int, t: np.ndarray
) -> Run:
    """Member ``member``'s free run from ``z0`` at its first node, at the sorted times ``t`` (none before its
    first node), with the forward sensitivities S' = f_z S + [0, f_theta], S(0) = [I, 0] (I only with free
    initial states), integrated by scipy to the tolerance of the report's free runs."""
    nx, p = ctx.series.nx, theta.size
    free = ctx.settings.initial_states == "free"
    q = (nx if free else 0) + p
    trajectory = ctx.series.trajectories[member]
    none = np.zeros(0)

    def rhs(time, y):
        u = ctx.scaling.inputs_to_model(trajectory.inputs_at(np.array([time]))[0]) if ctx.series.nu else none
        f, fz, ftheta = (m.full() for m in function(y[:nx], u, theta))
        S = y[nx:].reshape(nx, q)
        dS = fz @ S
        dS[:, q - p :] += ftheta
        return np.concatenate([f.ravel(), dS.ravel()])

    S0 = np.zeros((nx, q))
    if free:
        S0[:, :nx] = np.eye(nx)
    t0 = ctx.grid.start(member)
    y0 = np.concatenate([z0, S0.ravel()])
    solved = solve_ivp(rhs, (t0, max(t0, t.max())), y0, t_eval=t, method="DOP853", rtol=1e-9, atol=1e-11)
    y = solved.y.T if solved.success else np.zeros((0, y0.size))
    y = np.vstack([y, np.full((t.size - y.shape[0], y0.size), np.nan)])  # the run blew up: the rest is unknown
    return Run(t, y[:, :nx], y[:, nx:].reshape(t.size, nx, q))


@dataclass(frozen=True)
class MemberBand:
    """A member's free run and band half widths at ``t``, data units."""

    t: np.ndarray
    centre: np.ndarray  # (m, nx)
    mean: np.ndarray  # half width of the noise-free trajectory's band
    observation: np.ndarray  # half width of a new observation's band


@dataclass(frozen=True)
class Bands:
    """The fitted parameters' covariance and what it takes to draw bands (module docstring)."""

    level: float
    sigma: float  # the residuals' standard deviation, model units
    effective_parameters: float  # trace of the hat matrix
    degrees_of_freedom: float  # n - effective_parameters
    quantile: float  # Student-t, (1 + level) / 2
    covariance: np.ndarray  # Sigma over (every member's z0 if free, theta)
    members: int
    initial_state_size: int  # nx with free initial states, else 0

    def columns(self, member: int) -> np.ndarray:
        """Member ``member``'s rows and columns of the covariance: its z0 (if free), then theta."""
        n0, size = self.initial_state_size, self.covariance.shape[0]
        return np.concatenate([np.arange(member * n0, (member + 1) * n0), np.arange(self.members * n0, size)])

    def half_widths(self, run: Run, member: int) -> tuple[np.ndarray, np.ndarray]:
        """(m, nx) half widths, model units, of the band of the noise-free trajectory and of a new observation."""
        index = self.columns(member)
        C = self.covariance[np.ix_(index, index)]
        variance = np.maximum(np.einsum("mij,jk,mik->mi", run.jacobian, C, run.jacobian), 0.0)  # rounding
        return self.quantile * np.sqrt(variance), self.quantile * np.sqrt(variance + self.sigma**2)

    def member_bands(self, ctx: TimeSeriesContext, runs: list[Run]) -> list[MemberBand]:
        """Each member's band at its run's times, in the data's units."""
        out = []
        for b, run in enumerate(runs):
            mean, observation = self.half_widths(run, b)
            std = ctx.scaling.std
            out.append(MemberBand(run.t, ctx.scaling.to_data(run.z), std * mean, std * observation))
        return out


def member_runs(ctx: TimeSeriesContext, theta: np.ndarray, z0: np.ndarray, extra: list[np.ndarray]) -> list[Run]:
    """Every member's free run from its fitted initial state ``z0[b]`` with sensitivities, at its sample times
    and at ``extra[b]`` (for the first len(extra) members), from its first node on."""
    function, runs = sensitivity_field(ctx), []
    for b, tr in enumerate(ctx.series.trajectories):
        t = np.unique(np.concatenate([tr.t, extra[b] if b < len(extra) else np.zeros(0)]))
        runs.append(free_run_with_sensitivities(ctx, function, theta, z0[b], b, t[t >= ctx.grid.start(b)]))
    return runs


def laplace(ctx: TimeSeriesContext, theta: np.ndarray, runs: list[Run], level: float) -> Bands | str:
    """The bands at ``level`` from every member's free run and sensitivities (``runs[b]`` at least at its
    training sample times), or why there are none."""
    n0 = ctx.series.nx if ctx.settings.initial_states == "free" else 0
    members, p = len(runs), theta.size
    size = members * n0 + p
    A, rss, n = np.zeros((size, size)), 0.0, 0
    for b, (tr, run) in enumerate(zip(ctx.train.trajectories, runs, strict=True)):
        at = np.searchsorted(run.t, tr.t)
        y = ctx.scaling.to_model(tr.x)
        seen = np.isfinite(y)
        if not n0:  # observed initial states are the first samples: no residual there, no degree of freedom
            seen[0] = False
        residuals = (run.z[at] - y)[seen]
        if not np.all(np.isfinite(residuals)):
            return f"member {b}'s free run does not reach the end of the training window"
        G = run.jacobian[at][seen]  # (observed entries, q)
        index = np.concatenate([np.arange(b * n0, (b + 1) * n0), np.arange(members * n0, size)])
        A[np.ix_(index, index)] += G.T @ G
        rss, n = rss + float(residuals @ residuals), n + residuals.size
    gauss_newton = A.copy()
    A[members * n0 :, members * n0 :] += n * ctx.settings.lam * np.eye(p)
    eigenvalues, vectors = np.linalg.eigh(A)
    kept = eigenvalues > EIGENVALUE_FLOOR * eigenvalues.max()
    inverse = (vectors[:, kept] / eigenvalues[kept]) @ vectors[:, kept].T
    effective = float(np.sum(inverse * gauss_newton))  # trace(A^+ G^T G), both symmetric
    dof = n - effective
    if dof < 1.0:
        return f"the fit has {effective:.1f} effective parameters for {n} observed entries: no noise estimate"
    sigma2 = rss / dof
    quantile = float(student_t.ppf(0.5 + level / 2, dof))
    return Bands(level, float(np.sqrt(sigma2)), effective, dof, quantile, sigma2 * inverse, members, n0)


def coverage(bands: list[MemberBand], half: str, series: Series, after: float, until: float = np.inf) -> float:
    """The fraction of ``series``'s observed entries at times in (``after``, ``until``] that lie within the
    bands (``half``: "mean" or "observation"); NaN if there are none."""
    inside, total = 0, 0
    for band, tr in zip(bands, series.trajectories, strict=True):
        keep = (tr.t > after) & (tr.t <= until)
        at = np.searchsorted(band.t, tr.t[keep])
        seen = np.isfinite(tr.x[keep])
        distance = np.abs(tr.x[keep] - band.centre[at])[seen]
        inside += int(np.sum(distance <= getattr(band, half)[at][seen]))  # a NaN run covers nothing
        total += distance.size
    return inside / total if total else float("nan")
