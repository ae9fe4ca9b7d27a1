"""Continuous space-time networks (SCIENCE.md, A): a neural ODE whose width is a variable z in Omega,

    x_t(t, z) = int_Omega w(t, z, z') sigma(x(t, z')) dz' + b(t, z),

discretised by a quadrature rule (nodes z_j, weights omega_j, j = 1..n_z):

    x_j' = sum_l omega_l w_jl(t) sigma(x_l) + b_j(t),

a neural ODE of width n_z, the width of the equivalent ResNet. It is a
dynamics kind (``dynamics: {kind: spacetime, width: n_z, ...}``), so the
regularisations A1 (l2), A2 (turnpike) and B (l1) apply to it unchanged.

Controls: the kernel and bias at the nodes in L2-normalised coordinates,
u_jl = sqrt(omega_j omega_l) w_jl and u_j = sqrt(omega_j) b_j, so that the
Euclidean norm ||u||^2 of the regularisations is the quadrature of
||w||^2_{L2(Omega^2)} + ||b||^2_{L2(Omega)} (for l1, ||u||_1 weighs |w_jl| by
sqrt(omega_j omega_l): sparsity in time is what B is about). The dynamics
are linear in u, hence homogeneous of degree 1 like "inside".

Input embedding x(0, z) of a data point x_i in R^d (explicit, from the config):
``piecewise``: x(0, z) = x_ic on the c-th of d equal parts of Omega;
``cosine``: x(0, z) = sum_c x_ic cos(c pi (z - a) / |Omega|) (smooth in z).
Output readout P x(T) in R^m: ``mean``: the quadrature mean of x(T, .) over
the c-th of m equal parts of Omega (nodes in that part, their weights);
``nodes``: the values at the first m nodes (a delta kernel). With n_z = d,
equal weights 1 (Gauss-Legendre with 2 nodes on [0, 2]), piecewise embedding
and node readout the network is exactly the plain "inside" neural ODE.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import casadi as ca
import numpy as np

from .activations import activation

RULES = ("gauss_legendre", "trapezoid", "midpoint")
EMBEDDINGS = ("piecewise", "cosine")
READOUTS = ("mean", "nodes")


def quadrature(rule: str, n: int, a: float = 0.0, b: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ``rule`` with n nodes on [a, b]: Gauss-Legendre (exact for degree 2n - 1),
    the trapezoid rule (order 2, n >= 2, nodes include the ends) or the midpoint rule (order 2)."""
    if not b > a:
        raise ValueError(f"the width domain must have a < b, got [{a}, {b}]")
    if n < 1 or (rule == "trapezoid" and n < 2):
        raise ValueError(f"quadrature {rule!r} needs {'2' if rule == 'trapezoid' else '1'} or more nodes, got {n}")
    if rule == "gauss_legendre":
        x, w = np.polynomial.legendre.leggauss(n)
        return a + (b - a) * (x + 1) / 2, w * (b - a) / 2
    if rule == "trapezoid":
        z = np.linspace(a, b, n)
        w = np.full(n, (b - a) / (n - 1))
        w[[0, -1]] /= 2
        return z, w
    if rule == "midpoint":
        h = (b - a) / n
        return a + h * (np.arange(n) + 0.5), np.full(n, h)
    raise ValueError(f"unknown quadrature {rule!r}; choose one of {', '.join(RULES)}")


@dataclass(frozen=True)
class SpaceTimeDynamics:
    """The discretised space-time network; the interface of `networks.NetworkDynamics` plus the
    embedding and readout that map data into and out of the width variable."""

    width: int = 16  # n_z
    sigma: str = "tanh"
    rule: str = "gauss_legendre"
    domain: tuple[float, float] = (0.0, 1.0)
    embedding: str = "piecewise"
    readout_kind: str = "mean"
    kind: str = "spacetime"

    def __post_init__(self) -> None:
        activation(self.sigma)
        quadrature(self.rule, self.width, *self.domain)  # fails early on a bad rule, width or domain
        if self.embedding not in EMBEDDINGS:
            raise ValueError(f"unknown embedding {self.embedding!r}; choose one of {', '.join(EMBEDDINGS)}")
        if self.readout_kind not in READOUTS:
            raise ValueError(f"unknown readout {self.readout_kind!r}; choose one of {', '.join(READOUTS)}")

    @property
    def nodes(self) -> tuple[np.ndarray, np.ndarray]:
        return quadrature(self.rule, self.width, *self.domain)

    def state_size(self, d: int) -> int:
        return self.width

    def control_size(self, d: int) -> int:
        return self.width**2 + self.width

    def rhs(self, x: ca.SX, u: ca.SX) -> ca.SX:
        n = self.width
        _, w = self.nodes
        U = ca.reshape(u[: n * n], n, n).T  # row-major, like the other kinds
        left, right = ca.DM(1 / np.sqrt(w)), ca.DM(np.sqrt(w))
        return left * ca.mtimes(U, right * activation(self.sigma)(x)) + left * u[n * n :]

    @property
    def homogeneous(self) -> bool:
        return True  # linear in u

    def controls_from(self, kernel: Callable, bias: Callable) -> np.ndarray:
        """u (nu,) for a kernel w(z, z') and bias b(z) (vectorised numpy functions)."""
        z, w = self.nodes
        W = kernel(z[:, None], z[None, :]) * np.sqrt(np.outer(w, w))
        return np.concatenate([W.ravel(), bias(z) * np.sqrt(w)])

    def embed(self, x: np.ndarray) -> np.ndarray:
        """(N, n_z): x(0, z_j) for points x (N, d)."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        d = x.shape[1]
        z, _ = self.nodes
        a, b = self.domain
        s = (z - a) / (b - a)
        if self.embedding == "piecewise":
            return x[:, np.minimum((s * d).astype(int), d - 1)]
        return x @ np.cos(np.pi * np.arange(d)[:, None] * s[None, :])

    def readout(self, x: ca.SX, m: int) -> ca.SX:
        """P x in R^m (see the module docstring)."""
        if self.readout_kind == "nodes":
            if m > self.width:
                raise ValueError(f"readout 'nodes' needs m <= n_z, got m = {m}, n_z = {self.width}")
            return x[:m]
        z, w = self.nodes
        a, b = self.domain
        part = np.minimum(((z - a) / (b - a) * m).astype(int), m - 1)
        rows = []
        for c in range(m):
            mask = (part == c) * w
            if not mask.sum() > 0:
                raise ValueError(f"readout 'mean': no quadrature node in part {c + 1} of {m}; raise the width")
            rows.append(ca.dot(ca.DM(mask / mask.sum()), x))
        return ca.vertcat(*rows)
