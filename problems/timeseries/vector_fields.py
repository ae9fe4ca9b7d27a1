"""Time-invariant vector fields f_theta(x) with their weights theta as one parameter vector.

``mlp``: x -> W_L sigma(... sigma(W_1 x + b_1) ...) + b_L with the hidden ``widths``; ``linear``: x -> A x + b;
``inside``, ``outside``, ``bottleneck``: the network dynamics of the learning problems (`networks.py`,
W sigma(x) + b, sigma(W x + b), W2 sigma(W1 x + b1) + b2 with width 2 d) with constant weights;
``none``: no network (0, for a hybrid model whose known part is the whole model, `hybrid.py`).
The weights start from seeded Glorot-normal draws (biases 0) times ``init_scale``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import casadi as ca
import numpy as np

from ..learning.activations import activation
from ..learning.networks import NetworkDynamics

ModelKind = Literal["mlp", "linear", "inside", "outside", "bottleneck", "none"]


@dataclass(frozen=True)
class VectorField:
    theta: ca.SX  # all weights, one column
    field: ca.SX  # f_theta(x), in the state symbol given to `vector_field`
    shapes: tuple[tuple[int, int], ...]  # (rows, cols) of each layer's W; each W is followed by its bias
    # a hybrid model's fitted known parameters (`hybrid.py`): their symbol, names and starting values
    known: ca.SX = dataclasses.field(default_factory=lambda: ca.SX(0, 1))
    known_names: tuple[str, ...] = ()
    known_start: tuple[float, ...] = ()

    @property
    def size(self) -> int:
        """Fitted numbers in all: the weights and the known parameters fitted beside them."""
        return self.theta.numel() + self.known.numel()

    def initial_weights(self, scale: float, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        parts = []
        for rows, cols in self.shapes:
            parts += [scale * rng.normal(scale=np.sqrt(2.0 / (rows + cols)), size=rows * cols), np.zeros(rows)]
        return np.concatenate(parts) if parts else np.zeros(0)


def vector_field(
    x: ca.SX, kind: str, widths: tuple[int, ...] = (), sigma: str = "tanh", inputs: ca.SX | None = None
) -> VectorField:
    """f_theta(x) of the given kind on the state symbol ``x``; with known ``inputs`` u (mlp and linear only),
    f_theta(x, u): the network reads [x; u], the linear model is A x + B u + b."""
    n = x.numel()
    if kind == "none":
        return VectorField(ca.SX(0, 1), ca.SX.zeros(n), ())
    if inputs is not None and inputs.numel():
        if kind not in ("mlp", "linear"):
            raise ValueError(f"model kind {kind!r} takes no inputs")
        return _layers(ca.vertcat(x, inputs), n, widths if kind == "mlp" else (), sigma)
    if kind in ("inside", "outside", "bottleneck"):
        network = NetworkDynamics(kind, sigma)
        theta = ca.SX.sym("theta", network.control_size(n))
        m = network.bottleneck_width(n)
        shapes = ((m, n), (n, m)) if kind == "bottleneck" else ((n, n),)  # each W then its bias, as theta holds them
        return VectorField(theta, network.rhs(x, theta), shapes)
    return _layers(x, n, widths if kind == "mlp" else (), sigma)


def _layers(z: ca.SX, n: int, widths: tuple[int, ...], sigma: str) -> VectorField:
    """z -> W_L sigma(... sigma(W_1 z + b_1) ...) + b_L with n outputs (one affine layer without widths)."""
    sizes = [z.numel(), *widths, n]
    shapes = tuple((sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1))
    theta = ca.SX.sym("theta", sum(r * c + r for r, c in shapes))
    act = activation(sigma)
    offset = 0
    for layer, (rows, cols) in enumerate(shapes):
        W = ca.reshape(theta[offset : offset + rows * cols], rows, cols)
        offset += rows * cols
        b = theta[offset : offset + rows]
        offset += rows
        z = ca.mtimes(W, z) + b
        if layer < len(shapes) - 1:
            z = act(z)
    return VectorField(theta, z, shapes)
