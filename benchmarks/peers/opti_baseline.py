"""The baseline a user writes by hand: CasADi Opti, multiple shooting, loops over points and intervals.

Written the most direct way on purpose: one Opti variable block per data point,
RK4 spelled out in MX for every point and interval, default IPOPT options. It
is the yardstick, not a straw man: the same transcription, initial guess and
solver as the toolkit, without batching (Function.map) or any tuning.
"""

from __future__ import annotations

import time

import casadi as ca
import numpy as np


def solve(X: np.ndarray, y: np.ndarray, U0: np.ndarray, states0: np.ndarray, *, T: float, lam: float) -> dict:
    """Solve from controls U0 (K, 6) and states states0 (K+1, N, 2); returns timings, iterations, controls."""
    start = time.perf_counter()
    K, N = U0.shape[0], X.shape[0]
    h = T / K
    opti = ca.Opti()
    U = opti.variable(6, K)

    def f(x, u):
        W = ca.reshape(u[:4], 2, 2).T
        return ca.mtimes(W, ca.tanh(x)) + u[4:]

    loss = 0
    for i in range(N):
        Xi = opti.variable(2, K + 1)
        opti.subject_to(Xi[:, 0] == X[i])
        for k in range(K):
            x, u = Xi[:, k], U[:, k]
            k1 = f(x, u)
            k2 = f(x + h / 2 * k1, u)
            k3 = f(x + h / 2 * k2, u)
            k4 = f(x + h * k3, u)
            opti.subject_to(Xi[:, k + 1] == x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4))
        opti.set_initial(Xi, states0[:, i, :].T)
        loss += (ca.tanh(Xi[0, K]) - y[i]) ** 2
    opti.minimize(loss / N + lam * h * ca.sumsqr(U))
    opti.set_initial(U, U0.T)
    opti.solver("ipopt", {"print_time": False}, {"print_level": 0, "sb": "yes"})
    build = time.perf_counter() - start
    start = time.perf_counter()
    try:
        sol = opti.solve()
        controls, stats = sol.value(U).T, sol.stats()
    except RuntimeError:  # IPOPT did not converge: report where it stopped
        controls, stats = opti.debug.value(U).T, opti.stats()
    return {
        "build_s": build,
        "solve_s": time.perf_counter() - start,
        "iterations": int(stats["iter_count"]),
        "status": stats["return_status"],
        "controls": np.asarray(controls).reshape(K, 6),
    }
