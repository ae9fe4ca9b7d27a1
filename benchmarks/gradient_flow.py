"""The toolkit's gradient flow against the same training written in PyTorch, in one process.

    OMP_NUM_THREADS=1 python benchmarks/gradient_flow.py [--depths 16 64 256] [--steps 50]

The ResNet of configs/resnet_smooth.yaml (n = 100, d = 16, m = 32, GELU,
smooth start, learning rate 0.1 x L): `ocp.solvers.gradient_flow.GradientFlow` (one
CasADi reverse-mode gradient of the condensed cost) against full-batch
gradient descent in PyTorch (autograd, float64, the same data, start and
step). Both must follow the same iterates: the script reports the largest
relative difference of the losses along the run, then the time per step of
each and their ratio, and the build time of the CasADi gradient.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def casadi_run(L: int, steps: int, data, start: np.ndarray, lr: float):
    import ocp
    from ocp.solvers.gradient_flow import GradientFlow, GradientFlowOptions
    from problems.resnet import resnet_problem

    problem = resnet_problem(data, 32, "gelu")
    method = ocp.MultipleShooting(K=L, integrator=ocp.Euler())
    flow = GradientFlow(problem, method, GradientFlowOptions(lr, steps, record_every=0))
    begin = time.perf_counter()
    sol = flow.solve(initial_guess=ocp.InitialGuess(controls=start))
    return np.array(sol.training["objective"]), (time.perf_counter() - begin) / steps, flow.build_time_s


def torch_run(L: int, steps: int, data, start: np.ndarray, lr: float):
    import torch

    torch.set_num_threads(1)
    d, m = data.dim, 32
    X = torch.tensor(data.x, dtype=torch.float64)
    y = torch.tensor(data.y[:, 0], dtype=torch.float64)
    Z = torch.tensor(start, dtype=torch.float64, requires_grad=True)

    def loss() -> torch.Tensor:
        h = X
        for k in range(L):
            V = Z[k, : d * m].reshape(d, m)
            W = Z[k, d * m :].reshape(m, d)
            h = h + (1.0 / L) * torch.nn.functional.gelu(h @ W.T) @ V.T
        return torch.mean((h[:, 0] - y) ** 2)

    losses = []
    begin = time.perf_counter()
    for _ in range(steps):
        value = loss()
        losses.append(float(value.detach()))
        (grad,) = torch.autograd.grad(value, Z)
        with torch.no_grad():
            Z -= lr * L * grad  # the toolkit's step: learning_rate / h_k with h_k = 1 / L
    losses.append(float(loss()))
    return np.array(losses), (time.perf_counter() - begin) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    from problems.learning.datasets import generate
    from problems.resnet import ResNetShape, initial_weights

    data = generate("gaussian", 100, 16, seed=0)
    lr = 0.1
    print("| L | max rel. loss difference | CasADi s/step | PyTorch s/step | PyTorch / CasADi | CasADi build s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for L in args.depths:
        start = initial_weights("smooth", L, ResNetShape(16, 32), seed=0)
        ours, ours_step, build = casadi_run(L, args.steps, data, start, lr)
        theirs, theirs_step = torch_run(L, args.steps, data, start, lr)
        difference = float(np.max(np.abs(ours - theirs) / np.abs(theirs)))
        print(
            f"| {L} | {difference:.1e} | {ours_step:.4f} | {theirs_step:.4f} | {theirs_step / ours_step:.2f} | "
            f"{build:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
