"""Independent LQR answers computed with scipy (no `ocp` code involved)."""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp
from scipy.linalg import expm


def continuous_cost(A, B, Q, R, S, T, x0) -> float:
    """x0' P(0) x0 with the Riccati ODE -P' = A'P + PA - P B R^-1 B' P + Q, P(T) = S."""
    n = A.shape[0]
    Rinv = np.linalg.inv(R)

    def rhs(_t, p):
        P = p.reshape(n, n)
        return -(A.T @ P + P @ A - P @ B @ Rinv @ B.T @ P + Q).ravel()

    sol = solve_ivp(rhs, (T, 0.0), S.ravel(), rtol=1e-12, atol=1e-12)
    P0 = sol.y[:, -1].reshape(n, n)
    return float(x0 @ P0 @ x0)


def discrete_cost(Ad, Bd, Qd, Rd, Nd, S, K, x0) -> float:
    """Optimal cost of sum_k [x;u]'[[Qd, Nd],[Nd', Rd]][x;u] + x_K' S x_K, x+ = Ad x + Bd u."""
    P = S
    for _ in range(K):
        G = Rd + Bd.T @ P @ Bd
        H = Bd.T @ P @ Ad + Nd.T
        P = Qd + Ad.T @ P @ Ad - H.T @ np.linalg.solve(G, H)
    return float(x0 @ P @ x0)


def sampled_data_cost(A, B, Q, R, S, T, K, x0) -> float:
    """Exact optimum over piecewise-constant controls on K equal intervals.

    Van Loan's method gives the exact discrete dynamics and the exact integral
    of the running cost over one interval with the control held constant.
    """
    n, m = B.shape
    h = T / K
    F = np.zeros((n + m, n + m))
    F[:n, :n], F[:n, n:] = A, B
    W = np.zeros((n + m, n + m))
    W[:n, :n], W[n:, n:] = Q, R
    big = np.block([[-F.T, W], [np.zeros_like(F), F]])
    E = expm(big * h)
    Phi = E[n + m :, n + m :]
    M = Phi.T @ E[: n + m, n + m :]
    M = 0.5 * (M + M.T)
    return discrete_cost(Phi[:n, :n], Phi[:n, n:], M[:n, :n], M[n:, n:], M[:n, n:], S, K, x0)


def euler_cost(A, B, Q, R, S, T, K, x0) -> float:
    """Exact optimum of the explicit-Euler transcription (left-endpoint quadrature of the cost)."""
    h = T / K
    n, m = B.shape
    return discrete_cost(np.eye(n) + h * A, h * B, h * Q, h * R, np.zeros((n, m)), S, K, x0)
