"""PyTorch (CPU, float64) gradient-training baseline for the neural-ODE classification problem.

Model: data ``X`` (N, 2), labels ``y`` (N,) in {-1, +1}, controls ``U`` (K, 6) with
``u_k = [W00, W01, W10, W11, b0, b1]`` (W row-major). Dynamics ``x' = W tanh(x) + b``, ``u`` constant on
each of K intervals of length ``h = T / K``, one classical RK4 step per interval, vectorised over the N points.
Cost ``J(U) = mean_i (tanh(x_i0(T)) - y_i)^2 + lam * h * sum_k |u_k|^2`` (x_i0: first state coordinate).

API:
    ``cost_function(X, y, T, K, lam) -> J``, with ``J(U: Tensor (K, 6) float64) -> scalar Tensor``.
    ``train(X, y, U0, *, T, K, lam, method, targets, max_iters, time_budget_s, lr=1e-2, record_every=1) -> dict``
    full-batch training with ``"adam"`` or ``"lbfgs"``; see :func:`train` for the result keys.

Torch is an optional dependency of the benchmarks only; it is imported here and nowhere else.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

_MAX_HISTORY = 500


def cost_function(X, y, T: float, K: int, lam: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """Build the discretised cost ``J(U)``.

    Parameters
    ----------
    X : array_like, shape (N, 2)
        Initial states (data points).
    y : array_like, shape (N,)
        Labels in {-1, +1}.
    T : float
        Horizon.
    K : int
        Number of control intervals (one RK4 step each).
    lam : float
        Weight of the control regularisation ``lam * h * sum_k |u_k|^2``.

    Returns
    -------
    callable
        ``J(U)`` mapping a float64 tensor of shape (K, 6) to a scalar tensor (differentiable in ``U``).
    """
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float64))
    yt = torch.as_tensor(np.asarray(y, dtype=np.float64))
    h = float(T) / int(K)

    def f(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x) @ W.T + b

    def J(U: torch.Tensor) -> torch.Tensor:
        x = Xt
        for k in range(int(K)):
            W, b = U[k, :4].reshape(2, 2), U[k, 4:]
            k1 = f(x, W, b)
            k2 = f(x + 0.5 * h * k1, W, b)
            k3 = f(x + 0.5 * h * k2, W, b)
            k4 = f(x + h * k3, W, b)
            x = x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        return torch.mean((torch.tanh(x[:, 0]) - yt) ** 2) + lam * h * torch.sum(U * U)

    return J


def train(
    X,
    y,
    U0,
    *,
    T: float,
    K: int,
    lam: float,
    method: str,
    targets: dict[str, float],
    max_iters: int,
    time_budget_s: float,
    lr: float = 1e-2,
    record_every: int = 1,
) -> dict:
    """Full-batch training of ``J`` from ``U0`` with Adam or L-BFGS.

    Parameters
    ----------
    X, y : array_like
        Data (N, 2) and labels (N,).
    U0 : array_like, shape (K, 6)
        Initial controls (copied, not modified).
    T, K, lam : float, int, float
        Problem parameters, as in :func:`cost_function`.
    method : {"adam", "lbfgs"}
        ``"adam"``: ``torch.optim.Adam(lr=lr)``, one gradient evaluation per iteration.
        ``"lbfgs"``: ``torch.optim.LBFGS(lr=1, history_size=20, line_search_fn="strong_wolfe", max_iter=1,
        max_eval=26)``; one ``.step()`` is one L-BFGS iteration whose strong-Wolfe line search may use up to 25
        evaluations (``max_eval`` must be raised above its default of 1 when ``max_iter=1``). ``lr`` is ignored.
        Evaluations are cached by the parameter values, so the re-evaluation at the start of each ``.step()`` of
        the point just accepted by the line search costs nothing and is not counted.
    targets : dict of str to float
        Named cost levels; training stops early once all are reached (never when empty).
    max_iters : int
        Maximum number of optimizer steps.
    time_budget_s : float
        Wall-clock budget, checked after every step.
    lr : float, optional
        Adam learning rate.
    record_every : int, optional
        Initial sampling stride (in iterations) of ``history``; doubled whenever it exceeds ~500 points.

    Returns
    -------
    dict
        ``method``, ``iterations`` (optimizer steps), ``function_evaluations`` (forward+backward passes),
        ``final_cost``, ``best_cost`` (over iterates), ``wall_s``, ``time_to`` / ``iters_to`` (target name ->
        seconds since start / iteration at which the iterate cost first was <= the target, or None), ``threads``
        (``torch.get_num_threads()``), ``history`` (list of (seconds, cost)), ``stop_reason``, ``U`` (final controls).
        Times exclude tensor/optimizer setup and one untimed warm-up evaluation.
    """
    if method not in ("adam", "lbfgs"):
        raise ValueError(f"unknown method {method!r}")
    J = cost_function(X, y, T, K, lam)
    U = torch.tensor(np.asarray(U0, dtype=np.float64).reshape(int(K), 6), requires_grad=True)
    J(U.detach().clone().requires_grad_(True)).backward()  # untimed warm-up
    if method == "adam":
        opt = torch.optim.Adam([U], lr=lr)
    else:
        opt = torch.optim.LBFGS([U], lr=1.0, max_iter=1, max_eval=26, history_size=20, line_search_fn="strong_wolfe")
    time_to: dict[str, float | None] = {name: None for name in targets}
    iters_to: dict[str, int | None] = {name: None for name in targets}
    history: list[tuple[float, float]] = []
    stride, n_fev, best = max(1, int(record_every)), 0, float("inf")
    cache: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def closure() -> torch.Tensor:
        nonlocal n_fev
        for Ur, Jr, gr in cache:
            if torch.equal(Ur, U.detach()):
                U.grad = gr.clone()
                return Jr
        opt.zero_grad()
        loss = J(U)
        loss.backward()
        n_fev += 1
        cache.append((U.detach().clone(), loss.detach(), U.grad.clone()))
        return loss

    def record(it: int, cost: float, now: float) -> None:
        nonlocal best, stride
        best = min(best, cost)
        for name, level in targets.items():
            if time_to[name] is None and cost <= level:
                time_to[name], iters_to[name] = now, it
        if it % stride == 0:
            history.append((now, cost))
            if len(history) > _MAX_HISTORY:
                history[:] = history[::2]
                stride *= 2

    t0 = time.perf_counter()
    cost = float(closure().detach())
    record(0, cost, time.perf_counter() - t0)
    it, stop_reason = 0, "max_iters"
    while it < max_iters:
        if targets and all(v is not None for v in time_to.values()):
            stop_reason = "targets"
            break
        if time.perf_counter() - t0 >= time_budget_s:
            stop_reason = "time_budget"
            break
        if method == "adam":
            opt.step()
            cache.clear()
            cost = float(closure().detach())
        else:
            before = n_fev
            opt.step(closure)
            current = [c for c in cache if torch.equal(c[0], U.detach())]
            cache[:] = current[-1:]
            cost = float(closure().detach())  # cache hit unless the line search left an unevaluated point
            if n_fev == before:
                stop_reason = "converged"  # L-BFGS made no move (gradient or progress tolerance)
                break
        it += 1
        record(it, cost, time.perf_counter() - t0)
    wall = time.perf_counter() - t0
    if not history or history[-1][0] != wall:
        history.append((wall, cost))
    return {
        "method": method,
        "iterations": it,
        "function_evaluations": n_fev,
        "final_cost": cost,
        "best_cost": best,
        "wall_s": wall,
        "time_to": time_to,
        "iters_to": iters_to,
        "threads": torch.get_num_threads(),
        "history": history,
        "stop_reason": stop_reason,
        "U": U.detach().numpy().copy(),
    }
