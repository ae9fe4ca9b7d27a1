"""diffrax's neural-ODE recipe on a shared record, run by a separate interpreter that has JAX (not the toolkit's).

    /work/venv-diffrax/bin/python benchmarks/peers/diffrax_neural_ode.py DATA.npz --seed 0 --out RUN.json

The recipe of diffrax's example (examples/neural_ode.ipynb): an Equinox MLP 2-64-64-2 with softplus
(4,482 weights, Equinox's own initialisation from ``PRNGKey(seed)``), solved by Tsit5 with a PID step
controller (rtol 1e-3, atol 1e-6, first step one sample gap), the loss the mean squared error of the
runs from each member's first sample, mini-batches of 32 members, AdaBelief (the example's Adam variant)
at lr 3e-3, 500 steps on the first 10 % of the training samples, then a fresh optimiser on all of them.
The second phase goes on past the recipe's 500 steps until the forecast reaches ``--target`` or
``--budget-s`` seconds of training have passed. Float32, as the example runs.

At checkpoints (every ``--check-every`` steps, the clock paused) every member is run freely over the
whole record (Tsit5, rtol 1e-5, atol 1e-7: float32) and compared with the held-out samples (``forecast RMSE``):
from the true initial states (``x_true0``; the model's error alone) and from the first noisy sample (as
the recipe would forecast). The result file holds the trace, the compile time and the final weights.
This file imports nothing from the toolkit: the two sides share only the .npz (benchmarks/timeseries_diffrax.py).
"""

from __future__ import annotations

import argparse
import json
import time

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax

LR, BATCH, STEPS, LENGTHS = 3e-3, 32, (500, 500), (0.1, 1.0)


class Field(eqx.Module):
    mlp: eqx.nn.MLP

    def __init__(self, width: int, depth: int, key):
        self.mlp = eqx.nn.MLP(2, 2, width, depth, activation=jax.nn.softplus, key=key)

    def __call__(self, t, y, args):
        return self.mlp(y)


def run(field: Field, ts, y0, rtol: float, atol: float):
    """One member's free run from y0, at the times ts."""
    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(field),
        diffrax.Tsit5(),
        t0=ts[0],
        t1=ts[-1],
        dt0=ts[1] - ts[0],
        y0=y0,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        saveat=diffrax.SaveAt(ts=ts),
        max_steps=100_000,
    )
    return solution.ys


def batches(members: int, key):
    """Endless mini-batches of member indices, a fresh permutation each pass (the example's loader); all
    members at once when fewer than a batch."""
    size = min(BATCH, members)
    while True:
        key, draw = jr.split(key)
        order = jr.permutation(draw, members)
        for start in range(0, members - size + 1, size):
            yield order[start : start + size]


def training_step(loss, optimiser):
    """One jitted optimiser step on a mini-batch: (field, state, t, y) -> (loss, field, state)."""

    @eqx.filter_jit
    def step(field, state, t, y):
        value, grads = loss(field, t, y)
        updates, state = optimiser.update(grads, state)
        return value, eqx.apply_updates(field, updates), state

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help=".npz with t, y (members, samples, 2), x_true0 (members, 2), train (count)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--target", type=float, required=True, help="forecast RMSE (from the true states) to stop at")
    parser.add_argument("--budget-s", type=float, default=600.0, help="training seconds (compile included)")
    parser.add_argument("--check-every", type=int, default=50)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    with np.load(args.data) as arrays:
        ts, ys, x_true0, n_train = (jnp.asarray(arrays[k], jnp.float32) for k in ("t", "y", "x_true0", "train"))
    n_train = int(n_train)
    model_key, loader_key = jr.split(jr.PRNGKey(args.seed))
    field = Field(args.width, args.depth, model_key)
    held_out = ys[:, n_train:]

    @eqx.filter_jit
    def forecast_rmse(field, y0):
        runs = jax.vmap(lambda y: run(field, ts, y, 1e-5, 1e-7))(y0)
        return jnp.sqrt(jnp.mean((runs[:, n_train:] - held_out) ** 2))

    @eqx.filter_value_and_grad
    def loss(field, t, y):
        runs = jax.vmap(lambda y0: run(field, t, y0, 1e-3, 1e-6))(y[:, 0])
        return jnp.mean((runs - y) ** 2)

    trace, compile_s, trained_s, step_total = [], 0.0, 0.0, 0
    reached = False
    for phase, (steps, length) in enumerate(zip(STEPS, LENGTHS, strict=True)):
        optimiser = optax.adabelief(LR)  # a fresh one per phase, as the example
        state = optimiser.init(eqx.filter(field, eqx.is_inexact_array))
        step = training_step(loss, optimiser)
        t = ts[: int(n_train * length)]
        y = ys[:, : int(n_train * length)]
        last_phase = phase == len(STEPS) - 1
        for i, members in enumerate(batches(ys.shape[0], loader_key)):
            if i >= steps and not last_phase:
                break
            begin = time.perf_counter()
            value, field, state = step(field, state, t, y[members])
            value = float(value)  # waits for the step
            spent = time.perf_counter() - begin
            trained_s += spent
            if i == 0:
                compile_s += spent  # the first call compiles (its one step's compute is counted too)
            step_total += 1
            at_recipe_end = last_phase and i + 1 == steps
            if step_total % args.check_every == 0 or at_recipe_end or trained_s > args.budget_s:
                true0, first = float(forecast_rmse(field, x_true0)), float(forecast_rmse(field, ys[:, 0]))
                trace.append(
                    {
                        "train_s": trained_s,
                        "step": step_total,
                        "phase": phase + 1,
                        "loss": value,
                        "forecast_rmse": true0,
                        "forecast_rmse_first_sample": first,
                    }
                )
                shown = f"step {step_total} phase {phase + 1} {trained_s:.1f} s loss {value:.3e}"
                print(f"{shown} forecast {true0:.5f}", flush=True)
                reached = last_phase and true0 <= args.target
                if reached or trained_s > args.budget_s:
                    break
    layers = [
        {"W": np.asarray(layer.weight).tolist(), "b": np.asarray(layer.bias).tolist()} for layer in field.mlp.layers
    ]
    with open(args.out, "w") as handle:
        json.dump(
            {
                "seed": args.seed,
                "compile_s": compile_s,
                "trained_s": trained_s,
                "steps": step_total,
                "reached": reached,
                "trace": trace,
                "layers": layers,
                "jax": jax.__version__,
                "diffrax": diffrax.__version__,
            },
            handle,
        )


if __name__ == "__main__":
    main()
