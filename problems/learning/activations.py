"""Activation functions sigma for network dynamics, on CasADi expressions."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Literal, get_args

import casadi as ca

SMOOTH_RELU_EPS = 1e-2


def tanh(z):
    return ca.tanh(z)


def sigmoid(z):
    return 1.0 / (1.0 + ca.exp(-z))


def softplus(z):
    # log(1 + e^z), written to avoid overflow for large z.
    return ca.fmax(z, 0) + ca.log1p(ca.exp(-ca.fabs(z)))


def smooth_relu(z):
    """(z + sqrt(z^2 + eps^2)) / 2: within eps/2 of ReLU, infinitely differentiable."""
    return 0.5 * (z + ca.sqrt(z**2 + SMOOTH_RELU_EPS**2))


def gelu(z):
    """z Phi(z), Phi the standard normal CDF (the ResNet experiments of docs/science.md, C)."""
    return 0.5 * z * (1 + ca.erf(z / ca.sqrt(2.0)))


def relu(z):
    warnings.warn("plain ReLU is not differentiable at 0; IPOPT may stall. Prefer 'smooth_relu'.", stacklevel=2)
    return ca.fmax(z, 0)


ActivationName = Literal["tanh", "sigmoid", "softplus", "smooth_relu", "gelu", "relu"]  # the config's choices
ACTIVATIONS: dict[str, Callable] = {
    "tanh": tanh,
    "sigmoid": sigmoid,
    "softplus": softplus,
    "smooth_relu": smooth_relu,
    "gelu": gelu,
    "relu": relu,
}

if tuple(ACTIVATIONS) != get_args(ActivationName):
    raise RuntimeError("ActivationName and ACTIVATIONS must name the same activations")


def activation(name: str) -> Callable:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None
