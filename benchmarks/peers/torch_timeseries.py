"""Gradient training through an ODE solver (single shooting) for the time-series fit, in PyTorch.

The model is what a PyTorch user writes: ``nn.Sequential(Linear, Tanh, ..., Linear)`` in float64, its
weights loaded from the toolkit's flat theta (each layer's W column-major, then its bias), so every method
starts from the same numbers. The initial states are trained too, started at the first samples, as the
toolkit's free initial states are. The loss is the toolkit's objective: the mean over observed entries of
(x(t_j) - y_j)^2 plus lambda ||theta||^2, with x simulated from the initial states through the whole window.

Simulators: ``loop`` (a plain RK4 loop, classical RK4, ``steps`` sub-steps per interval: the toolkit's
discretisation exactly), ``direct`` and ``adjoint`` (torchdiffeq's ``odeint`` / ``odeint_adjoint``,
method rk4 with the same step). Optimisers: ``adam`` (learning rate ADAM_LR) or ``lbfgs`` (strong-Wolfe line
search). Torch is imported here and nowhere in the toolkit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

ADAM_LR = 1e-2
LBFGS_HISTORY = 20


@dataclass
class TorchRun:
    theta: np.ndarray
    x0: np.ndarray  # (N, nx)
    wall_s: float
    iterations: int  # optimiser steps (Adam) or loss evaluations (L-BFGS)
    trace: list[tuple[float, float]]  # (seconds since the start, loss) after each evaluation


def network(shapes: tuple[tuple[int, int], ...], theta: np.ndarray) -> nn.Sequential:
    """The MLP of `problems/timeseries/vector_fields.py` with the given flat weights."""
    layers: list[nn.Module] = []
    offset = 0
    for i, (rows, cols) in enumerate(shapes):
        linear = nn.Linear(cols, rows).double()
        with torch.no_grad():
            w = theta[offset : offset + rows * cols].reshape(cols, rows).T  # column-major, as ca.reshape
            offset += rows * cols
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            linear.bias.copy_(torch.from_numpy(theta[offset : offset + rows]))
            offset += rows
        layers.append(linear)
        if i < len(shapes) - 1:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def flat_weights(net: nn.Sequential) -> np.ndarray:
    parts = []
    for layer in net:
        if isinstance(layer, nn.Linear):
            parts += [layer.weight.detach().numpy().T.ravel(), layer.bias.detach().numpy()]
    return np.concatenate(parts)


class Field(nn.Module):
    def __init__(self, net: nn.Sequential):
        super().__init__()
        self.net = net

    def forward(self, t, x):  # torchdiffeq's signature
        return self.net(x)


def simulator(kind: str, field: Field, times: torch.Tensor, steps: int):
    """x0 (N, nx) -> states (N, K + 1, nx) at ``times``."""
    h = float(times[1] - times[0]) / steps
    if kind == "loop":

        def simulate(x0):
            x, out = x0, [x0]
            for k in range(times.numel() - 1):
                hk = float(times[k + 1] - times[k]) / steps
                for _ in range(steps):
                    k1 = field.net(x)
                    k2 = field.net(x + hk / 2 * k1)
                    k3 = field.net(x + hk / 2 * k2)
                    k4 = field.net(x + hk * k3)
                    x = x + hk / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
                out.append(x)
            return torch.stack(out, 1)

        return simulate
    from torchdiffeq import odeint, odeint_adjoint

    options = {"step_size": h}
    if kind == "direct":
        return lambda x0: odeint(field, x0, times, method="rk4", options=options).transpose(0, 1)
    params = tuple(field.parameters())
    return lambda x0: odeint_adjoint(field, x0, times, method="rk4", options=options, adjoint_params=params).transpose(
        0, 1
    )


def train(
    *,
    shapes,
    theta0: np.ndarray,
    x0: np.ndarray,
    times: np.ndarray,
    samples: np.ndarray,
    lam: float,
    steps: int,
    simulate_with: str,
    optimiser: str,
    max_iterations: int,
    wall_s: float,
) -> TorchRun:
    """Trains from (theta0, x0) until ``max_iterations`` or ``wall_s`` seconds; see the module docstring."""
    torch.set_num_threads(1)
    field = Field(network(shapes, theta0))
    initial = nn.Parameter(torch.from_numpy(x0.copy()))
    observed = torch.from_numpy(np.isfinite(samples).astype(float))
    targets = torch.from_numpy(np.nan_to_num(samples))
    count = float(observed.sum())
    grid = torch.from_numpy(np.asarray(times, dtype=float))
    simulate = simulator(simulate_with, field, grid, steps)
    params = [initial, *field.parameters()]
    trace: list[tuple[float, float]] = []
    begin = time.perf_counter()

    def loss_and_gradient():
        opt.zero_grad()
        x = simulate(initial)
        loss = ((observed * (x - targets)) ** 2).sum() / count
        loss = loss + lam * sum((p**2).sum() for p in field.parameters())
        loss.backward()
        value = float(loss.detach())
        trace.append((time.perf_counter() - begin, value if np.isfinite(value) else np.inf))
        return loss

    if optimiser == "adam":
        opt = torch.optim.Adam(params, lr=ADAM_LR)
        while len(trace) < max_iterations and time.perf_counter() - begin < wall_s:
            loss_and_gradient()
            if not np.isfinite(trace[-1][1]):
                break
            opt.step()
    else:
        opt = torch.optim.LBFGS(
            params,
            lr=1.0,
            max_iter=20,
            history_size=LBFGS_HISTORY,
            line_search_fn="strong_wolfe",
            tolerance_grad=1e-10,
            tolerance_change=1e-14,
        )
        while len(trace) < max_iterations and time.perf_counter() - begin < wall_s:
            before = len(trace)
            opt.step(loss_and_gradient)
            if len(trace) == before + 1 or not np.isfinite(trace[-1][1]):  # converged or diverged
                break
    return TorchRun(
        theta=flat_weights(field.net),
        x0=initial.detach().numpy().copy(),
        wall_s=time.perf_counter() - begin,
        iterations=len(trace),
        trace=trace,
    )
