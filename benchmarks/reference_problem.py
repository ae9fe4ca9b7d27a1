"""The reference problem "annulus-L2" of the performance issue, shared by every benchmark.

Annulus data (docs/science.md: 1/3 inner disc, label -1, first; 2/3 outer annulus, +1;
`problems.learning.datasets.annulus` with seed 0), d = 2, inside dynamics
x' = W(t) tanh(x) + b(t), u_k = [W00, W01, W10, W11, b0, b1] on K intervals,
one RK4 step per interval, cost

    J(U) = (1/N) sum_i (tanh(x_i1(T)) - y_i)^2 + lambda h sum_k |u_k|^2,   h = T / K,

T = 5, lambda = 1e-3, initial controls 0.01 x standard normal (default_rng(1)).

`cost` evaluates J in plain numpy, independently of every solver, so that all
methods' results are compared on one scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from problems.learning.datasets import annulus


@dataclass(frozen=True)
class Instance:
    X: np.ndarray  # (N, 2)
    y: np.ndarray  # (N,)
    U0: np.ndarray  # (K, 6)
    T: float = 5.0
    lam: float = 1e-3

    @property
    def N(self) -> int:
        return self.X.shape[0]

    @property
    def K(self) -> int:
        return self.U0.shape[0]

    @property
    def label(self) -> str:
        return f"N={self.N} K={self.K} T={self.T:g}"


def instance(N: int, K: int, T: float = 5.0, lam: float = 1e-3) -> Instance:
    data = annulus(N, dim=2, seed=0)
    U0 = 0.01 * np.random.default_rng(1).standard_normal((K, 6))
    return Instance(data.x, data.y[:, 0], U0, T, lam)


def _rhs(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    W, b = u[:4].reshape(2, 2), u[4:]
    return np.tanh(x) @ W.T + b


def forward(inst: Instance, U: np.ndarray) -> np.ndarray:
    """States (K+1, N, 2) under controls U (K, 6), one RK4 step per interval."""
    h = inst.T / inst.K
    x = inst.X.copy()
    out = [x]
    for u in U:
        k1 = _rhs(x, u)
        k2 = _rhs(x + 0.5 * h * k1, u)
        k3 = _rhs(x + 0.5 * h * k2, u)
        k4 = _rhs(x + h * k3, u)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(x)
    return np.stack(out)


def cost(inst: Instance, U: np.ndarray) -> float:
    """J(U) of the module docstring."""
    final = forward(inst, U)[-1]
    h = inst.T / inst.K
    return float(np.mean((np.tanh(final[:, 0]) - inst.y) ** 2) + inst.lam * h * np.sum(U**2))
