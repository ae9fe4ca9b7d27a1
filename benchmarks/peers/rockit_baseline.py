"""The reference problem written in rockit (rockit-meco): multiple shooting on the stacked ensemble.

Model: data X (N, 2), labels y (N,) in {-1, +1}; one shared piecewise-constant control
u_k = [W00, W01, W10, W11, b0, b1] per interval (K intervals, h = T / K); every point has
its own state x_i(t) in R^2 with x_i(0) = X[i] and x_i' = W tanh(x_i) + b. Rockit sees ONE
state of dimension 2N (all points stacked, point i at rows 2i, 2i+1) and one control of
dimension 6, discretised by MultipleShooting(N=K, M=1, intg='rk'): one RK4 step per interval.
Cost J = (1/N) sum_i (tanh(x_i0(T)) - y_i)^2 + lam int_0^T |u|^2 dt, where the integral is
rockit's ocp.integral(..., grid='control') = sum_k h |u_k|^2, exact for piecewise-constant u.
Start: controls U0, states from a numpy forward simulation of U0 with the same RK4 map
(IPOPT starts feasible). IPOPT with default options (print_level 0, sb yes, print_time off).

API:
    solve(X, y, U0, *, T, K, lam, ipopt_options=None) -> dict with setup_s, solve_s,
    iterations, cost, loss, regularization, status (IPOPT return_status), controls (K, 6).
"""

from __future__ import annotations

import time

import casadi as ca
import numpy as np
from rockit import MultipleShooting, Ocp


def _rhs(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """x' = W tanh(x) + b for states x (N, 2) and one control u (6,)."""
    return np.tanh(x) @ u[:4].reshape(2, 2).T + u[4:]


def forward(X: np.ndarray, U: np.ndarray, T: float) -> np.ndarray:
    """States (K+1, N, 2) of the RK4 map (one step per interval) from X under controls U (K, 6)."""
    h = T / U.shape[0]
    states = [np.asarray(X, dtype=float)]
    for u in U:
        x = states[-1]
        k1 = _rhs(x, u)
        k2 = _rhs(x + h / 2 * k1, u)
        k3 = _rhs(x + h / 2 * k2, u)
        k4 = _rhs(x + h * k3, u)
        states.append(x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4))
    return np.stack(states)


def cost_terms(X: np.ndarray, y: np.ndarray, U: np.ndarray, T: float, lam: float) -> tuple[float, float]:
    """(loss, regularisation) of controls U (K, 6), evaluated in numpy on the same discretisation."""
    xT = forward(X, U, T)[-1]
    loss = float(np.mean((np.tanh(xT[:, 0]) - y) ** 2))
    return loss, float(lam * T / U.shape[0] * np.sum(U**2))


def solve(
    X: np.ndarray, y: np.ndarray, U0: np.ndarray, *, T: float, K: int, lam: float, ipopt_options: dict | None = None
) -> dict:
    """Build the rockit Ocp, transcribe it, solve with IPOPT from U0; returns timings, iterations, cost, controls."""
    X, y, U0 = np.asarray(X, dtype=float), np.asarray(y, dtype=float), np.asarray(U0, dtype=float)
    N = X.shape[0]
    assert U0.shape == (K, 6), U0.shape
    states0 = forward(X, U0, T)  # (K+1, N, 2); outside the timed setup (it is the given start)

    start = time.perf_counter()
    ocp = Ocp(T=T)
    x = ocp.state(2 * N)  # point i at rows 2i, 2i+1
    u = ocp.control(6, order=0)
    xm = ca.reshape(x, 2, N)  # column i = point i
    W = ca.reshape(u[:4], 2, 2).T  # row-major
    ocp.set_der(x, ca.vec(ca.mtimes(W, ca.tanh(xm)) + ca.repmat(u[4:], 1, N)))
    ocp.subject_to(ocp.at_t0(x) == X.reshape(-1))
    xT = ocp.at_tf(x)
    loss_expr = ca.sumsqr(ca.tanh(xT[0::2]) - y) / N
    # grid='control': sum_k (t_{k+1} - t_k) * |u_k|^2 = h sum_k |u_k|^2, exact for piecewise-constant u
    reg_expr = lam * ocp.integral(ca.sumsqr(u), grid="control")
    ocp.add_objective(loss_expr + reg_expr)
    ocp.set_initial(x, states0.reshape(K + 1, 2 * N).T)  # (2N, K+1): the K+1 nodes of the control grid
    ocp.set_initial(u, U0.T)  # (6, K)
    ocp.problem.method(MultipleShooting(N=K, M=1, intg="rk"))
    opts = {"print_level": 0, "sb": "yes", **(ipopt_options or {})}
    nlp_opts = {"print_time": False, **{"ipopt." + k: v for k, v in opts.items()}}
    ocp.solvers.ipopt("ipopt", nlp_opts)
    # Rockit is lazy: ocp.solve() transcribes (deep copy of the Ocp, integrator Function, shooting
    # variables, gap constraints, placeholders -> an Opti), then Opti.solve() bakes the NLP and builds
    # the IPOPT nlpsol (Jacobian and Hessian graphs) before iterating, all inside one call. To put all
    # of that in setup_s and only the IPOPT iterations in solve_s, the steps of Opti.solve() are done
    # one by one here: rockit's transcription (ocp._transcribed, what ocp.solve() triggers first),
    # bake of the resulting Opti (casadi's .advanced is a copy with the same symbols), the same
    # nlpsol Opti would build, and the initial guess and bounds (solve_prepare). The NLP, options and
    # start are exactly those of ocp.solve() (same iterations and cost, checked when writing this).
    aug = ocp._transcribed
    adv = aug._method.opti.advanced
    adv.bake()
    nlpsol = ca.nlpsol("solver", "ipopt", {"x": adv.x, "p": adv.p, "f": adv.f, "g": adv.g}, nlp_opts)
    adv.solve_prepare()
    arg = adv.arg()
    setup = time.perf_counter() - start

    start = time.perf_counter()
    res = nlpsol.call(arg)  # the IPOPT call (no exception on failure; status reported below)
    solve_s = time.perf_counter() - start
    adv.res(res)
    stats = nlpsol.stats()
    controls = np.asarray(adv.value(ocp.sample(u, grid="control")[1]), dtype=float)[:, :K].T
    loss, reg = float(adv.value(aug.value(loss_expr))), float(adv.value(aug.value(reg_expr)))
    return {
        "setup_s": setup,
        "solve_s": solve_s,
        "iterations": int(stats["iter_count"]),
        "cost": float(res["f"]),
        "loss": loss,
        "regularization": reg,
        "status": stats["return_status"],
        "controls": controls,
    }


if __name__ == "__main__":  # python benchmarks/peers/rockit_baseline.py [N]  (N = 100 or 400)
    import sys
    from pathlib import Path

    data = np.load(Path(__file__).resolve().parents[1] / "data" / "annulus_N400_K20.npz")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    keep = np.r_[:33, 133:200] if n == 100 else np.arange(400)
    out = solve(data["X"][keep], data["y"][keep], data["U0"], T=5.0, K=20, lam=1e-3)
    print({k: v for k, v in out.items() if k != "controls"})
