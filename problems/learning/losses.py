"""Output map and losses: E = (1/N) sum_i loss(g(P x_i), y_i) (docs/science.md, common setting)."""

from __future__ import annotations

from typing import Literal

import casadi as ca
import numpy as np

Loss = Literal["squared", "logistic"]
Output = Literal["identity", "tanh", "sigmoid"]

OUTPUTS = {"identity": lambda z: z, "tanh": ca.tanh, "sigmoid": lambda z: 1.0 / (1.0 + ca.exp(-z))}


def prediction(x: ca.SX, m: int, output: Output) -> ca.SX:
    """g(P x): P keeps the first m coordinates, g the output activation."""
    return OUTPUTS[output](x[:m])


def loss(z: ca.SX, y: ca.SX, kind: Loss) -> ca.SX:
    """Pointwise loss of prediction z against label y (labels in {-1, +1} for logistic)."""
    if kind == "squared":
        return ca.sumsqr(z - y)
    if kind == "logistic":
        margin = y * z
        # log(1 + exp(-margin)) without overflow.
        return ca.sum1(ca.fmax(-margin, 0) + ca.log1p(ca.exp(-ca.fabs(margin))))
    raise ValueError(f"unknown loss {kind!r}; choose squared or logistic")


def classify(z: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Class decisions from predictions z (N, m).

    One output: the label value in ``classes`` nearest to z (sign of z for
    labels -1/+1 and a tanh or identity output). Several outputs: argmax.
    """
    z = np.asarray(z)
    if z.shape[1] == 1:
        classes = np.unique(classes)
        return classes[np.argmin(np.abs(z - classes[None, :]), axis=1)]
    return np.argmax(z, axis=1).astype(float)


def labels(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    return y[:, 0] if y.shape[1] == 1 else np.argmax(y, axis=1).astype(float)
