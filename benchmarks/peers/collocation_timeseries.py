"""The fully discretised peer for the time-series fit: direct collocation with IPOPT, written in CasADi.

This is the formulation of Shapovalova and Tsay (2025), who write it in Pyomo.DAE: every state at every
collocation point is an NLP variable. One finite element per interval between two observation times,
Radau collocation of degree DEGREE (Pyomo.DAE's default scheme), the node states at the element ends;
the weights theta are shared by every collocation equation. The objective is the toolkit's: the mean over
observed entries of (x(t_j) - y_j)^2 at the nodes plus lambda ||theta||^2. IPOPT with the exact Hessian
(CasADi's SX derivatives), MUMPS, the same tolerance as the toolkit's solve. Started, like the toolkit,
from the data at the nodes and at the collocation points (interpolated) and from the given weights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import casadi as ca
import numpy as np

DEGREE = 3


@dataclass
class CollocationRun:
    theta: np.ndarray
    states: np.ndarray  # (N, K + 1, nx) at the nodes
    build_s: float
    solve_s: float
    iterations: int
    status: str


def _radau(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Collocation points tau_0 = 0 < tau_1 .. tau_d = 1 and the derivative matrix C (C[r, j]: d/dtau of
    the r-th Lagrange polynomial at tau_j)."""
    tau = np.append(0.0, ca.collocation_points(degree, "radau"))
    C = np.zeros((degree + 1, degree + 1))
    for r in range(degree + 1):
        p = np.poly1d([1.0])
        for s in range(degree + 1):
            if s != r:
                p *= np.poly1d([1.0, -tau[s]]) / (tau[r] - tau[s])
        C[r] = np.polyder(p)(tau)
    return tau, C


def fit(
    *,
    state: ca.SX,
    theta: ca.SX,
    field: ca.SX,
    theta0: np.ndarray,
    times: np.ndarray,
    samples: np.ndarray,
    state_guess: np.ndarray,
    lam: float,
    tol: float,
    max_iter: int,
) -> CollocationRun:
    begin = time.perf_counter()
    N, K1, nx = samples.shape
    K = K1 - 1
    tau, C = _radau(DEGREE)
    f = ca.Function("f", [state, theta], [field])
    h = np.diff(times)
    nodes = ca.SX.sym("nodes", nx, N * K1)
    inner = ca.SX.sym("inner", nx, N * K * DEGREE)
    th = ca.SX.sym("theta", theta.numel())
    F = f.map(N * K * DEGREE)(inner, ca.repmat(th, 1, N * K * DEGREE))
    residuals = []
    for b in range(N):
        for k in range(K):
            points = [nodes[:, b * K1 + k]] + [inner[:, (b * K + k) * DEGREE + j] for j in range(DEGREE)]
            for j in range(1, DEGREE + 1):
                slope = sum(C[r, j] * points[r] for r in range(DEGREE + 1))
                residuals.append(slope - h[k] * F[:, (b * K + k) * DEGREE + j - 1])
            residuals.append(nodes[:, b * K1 + k + 1] - points[DEGREE])  # Radau: the last point is the end
    observed = np.isfinite(samples)
    y = np.nan_to_num(samples).reshape(N * K1, nx).T
    mask = observed.reshape(N * K1, nx).T.astype(float)
    objective = ca.sumsqr(mask * (nodes - y)) / observed.sum() + lam * ca.sumsqr(th)
    w = ca.veccat(nodes, inner, th)
    solver = ca.nlpsol(
        "collocation",
        "ipopt",
        {"x": w, "f": objective, "g": ca.vertcat(*residuals)},
        {"print_time": False, "ipopt": {"print_level": 0, "tol": tol, "max_iter": max_iter, "sb": "yes"}},
    )
    inner_times = np.concatenate([times[k] + h[k] * tau[1:] for k in range(K)])
    inner_guess = np.stack(
        [[np.interp(inner_times, times, state_guess[b, :, i]) for i in range(nx)] for b in range(N)]
    )  # (N, nx, K * DEGREE)
    w0 = np.concatenate(
        [
            state_guess.reshape(N * K1, nx).ravel(),  # column-major nx x (N K1) = row-major (N K1) x nx
            np.transpose(inner_guess, (0, 2, 1)).reshape(-1),
            theta0,
        ]
    )
    build_s = time.perf_counter() - begin
    result = solver(x0=w0, lbg=0.0, ubg=0.0)
    solve_s = time.perf_counter() - begin - build_s
    values = np.asarray(result["x"]).ravel()
    stats = solver.stats()
    return CollocationRun(
        theta=values[-theta.numel() :],
        states=values[: N * K1 * nx].reshape(N, K1, nx),
        build_s=build_s,
        solve_s=solve_s,
        iterations=int(stats.get("iter_count", -1)),
        status=str(stats.get("return_status")),
    )
