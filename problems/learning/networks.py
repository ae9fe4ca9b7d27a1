"""Network dynamics x' = f(x, u) of docs/science.md, u(t) the stacked network parameters.

inside:      x' = W sigma(x) + b              u = (W row-major, b),             nu = d^2 + d
outside:     x' = sigma(W x + b)              u = (W row-major, b),             nu = d^2 + d
bottleneck:  x' = W2 sigma(W1 x + b1) + b2    u = (W1, b1, W2, b2), width m,    nu = 2 m d + m + d
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import casadi as ca
import numpy as np

from .activations import activation

Kind = Literal["inside", "outside", "bottleneck"]


def _matrix(u: ca.SX, start: int, rows: int, cols: int) -> ca.SX:
    """Rows x cols matrix from u[start:], row-major (casadi reshapes column-major)."""
    return ca.reshape(u[start : start + rows * cols], cols, rows).T


@dataclass(frozen=True)
class NetworkDynamics:
    """One of the three architectures with activation ``sigma`` (by name)."""

    kind: Kind = "inside"
    sigma: str = "tanh"
    width: int | None = None  # bottleneck only; default 2 d

    def __post_init__(self) -> None:
        if self.kind not in ("inside", "outside", "bottleneck"):
            raise ValueError(f"unknown dynamics {self.kind!r}; choose one of inside, outside, bottleneck")
        activation(self.sigma)  # fails early on an unknown name
        if self.width is not None and self.width < 1:
            raise ValueError(f"bottleneck width must be >= 1, got {self.width}")

    def bottleneck_width(self, d: int) -> int:
        return self.width if self.width is not None else 2 * d

    def state_size(self, d: int) -> int:
        return d

    def embed(self, x: np.ndarray) -> np.ndarray:
        """Initial states of data points x (N, d): the points themselves."""
        return np.atleast_2d(np.asarray(x, dtype=float))

    def readout(self, x: ca.SX, m: int) -> ca.SX:
        """P x: the first m coordinates (docs/science.md's default P)."""
        return x[:m]

    def interval_parameters(self, m: int) -> tuple:
        """Parameters with a value per control interval the dynamics read: none (see `spacetime.py`)."""
        return ()

    def interval_sizes(self) -> None:
        """The state has the same size on every interval (see `spacetime.py` for one that changes)."""
        return None

    def control_size(self, d: int) -> int:
        if self.kind == "bottleneck":
            m = self.bottleneck_width(d)
            return 2 * m * d + m + d
        return d * d + d

    def rhs(self, x: ca.SX, u: ca.SX) -> ca.SX:
        """f(x, u) for a state x of size d and controls u of size ``control_size(d)``."""
        d = x.numel()
        sigma = activation(self.sigma)
        if self.kind == "bottleneck":
            m = self.bottleneck_width(d)
            W1, b1 = _matrix(u, 0, m, d), u[m * d : m * d + m]
            off = m * d + m
            W2, b2 = _matrix(u, off, d, m), u[off + d * m : off + d * m + d]
            return ca.mtimes(W2, sigma(ca.mtimes(W1, x) + b1)) + b2
        W, b = _matrix(u, 0, d, d), u[d * d : d * d + d]
        if self.kind == "inside":
            return ca.mtimes(W, sigma(x)) + b
        return sigma(ca.mtimes(W, x) + b)

    @property
    def homogeneous(self) -> bool:
        """f(x, a u) = a f(x, u) for a > 0: the property the O(1/T) theory needs.

        Only "inside" has it in all of u. The bottleneck is often listed too, but
        scaling W1 and b1 changes the argument of sigma, so the bottleneck is
        homogeneous only in its outer layer (W2, b2); tests check both facts.
        """
        return self.kind == "inside"
