"""Continuous space-time networks (docs/science.md, A): a neural ODE whose width is a variable z in Omega,

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

Variable width (a moving grid z_j(t)): ``widths`` gives the number of nodes
n_k on each control interval k, so the equivalent ResNet's width changes with
depth. Interval k uses the rule's n_k nodes; at a node where the width changes
the state is carried to the new grid by interpolation (Lagrange through the
Gauss-Legendre nodes, piecewise linear for trapezoid and midpoint). The OCP
sees this through `ocp.IntervalSizes` (the first n_k state entries and the controls
of an n_k x n_k kernel exist on interval k) and per-interval parameters (the
grid's sqrt(omega_j) and 1/sqrt(omega_j), 0 on absent nodes). The embedding
uses the first grid, the readout the last one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

import casadi as ca
import numpy as np

import ocp

from .activations import activation

QuadratureRule = Literal["gauss_legendre", "trapezoid", "midpoint"]
Embedding = Literal["piecewise", "cosine"]
Readout = Literal["mean", "nodes"]
RULES, EMBEDDINGS, READOUTS = get_args(QuadratureRule), get_args(Embedding), get_args(Readout)


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
    widths: tuple[int, ...] | None = None  # n_k per control interval (K entries); None: ``width`` throughout

    def __post_init__(self) -> None:
        activation(self.sigma)
        if self.widths is not None:
            widths = tuple(int(n) for n in self.widths)
            for n in set(widths):
                self.grid(n)  # fails early on a bad rule, width or domain
            object.__setattr__(self, "widths", widths)
            object.__setattr__(self, "width", max(widths))  # the padded state's size
            symbols = (ca.SX.sym("sqrt_weights", self.width), ca.SX.sym("inverse_sqrt_weights", self.width))
            object.__setattr__(self, "_weight_symbols", symbols)
            object.__setattr__(self, "_readout_symbols", {})  # P's symbol per label size m
        self.grid(self.width)  # fails early on a bad rule, width or domain
        if self.embedding not in EMBEDDINGS:
            raise ValueError(f"unknown embedding {self.embedding!r}; choose one of {', '.join(EMBEDDINGS)}")
        if self.readout_kind not in READOUTS:
            raise ValueError(f"unknown readout {self.readout_kind!r}; choose one of {', '.join(READOUTS)}")

    @property
    def nodes(self) -> tuple[np.ndarray, np.ndarray]:
        """The grid's nodes and weights (the widest grid's under a width schedule)."""
        return self.grid(self.width)

    def grid(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Nodes and weights of the rule with n nodes on the width domain."""
        return quadrature(self.rule, n, *self.domain)

    def state_size(self, d: int) -> int:
        return self.width

    def control_size(self, d: int) -> int:
        return self.width**2 + self.width

    def rhs(self, x: ca.SX, u: ca.SX) -> ca.SX:
        n = self.width
        U = ca.reshape(u[: n * n], n, n).T  # row-major, like the other kinds
        if self.widths is None:
            _, w = self.nodes
            right, left = ca.DM(np.sqrt(w)), ca.DM(1 / np.sqrt(w))
        else:
            right, left = self._weight_symbols  # this interval's grid, 0 on absent nodes
        return left * ca.mtimes(U, right * activation(self.sigma)(x)) + left * u[n * n :]

    def interval_parameters(self, m: int) -> tuple[ocp.Parameter, ...]:
        """What the dynamics and the readout (to R^m) read per interval under a width schedule: the
        grid's sqrt(omega_j), 1/sqrt(omega_j) (0 on absent nodes) and P (none without a schedule)."""
        if self.widths is None:
            return ()
        K = len(self.widths)
        root, inverse = np.zeros((K, self.width)), np.zeros((K, self.width))
        for k, n in enumerate(self.widths):
            _, w = self.grid(n)
            root[k, :n], inverse[k, :n] = np.sqrt(w), 1 / np.sqrt(w)
        readouts = np.stack([self.readout_matrix(n, m).ravel(order="F") for n in self.widths])
        right, left = self._weight_symbols
        return (
            ocp.Parameter(right, root, per_interval=True),
            ocp.Parameter(left, inverse, per_interval=True),
            ocp.Parameter(self._readout_symbol(m), readouts, per_interval=True),
        )

    def interval_sizes(self) -> ocp.IntervalSizes | None:
        """The nodes and kernel entries that exist on each interval, and the regridding between them."""
        if self.widths is None:
            return None
        N = self.width
        states = [np.arange(n) for n in self.widths]
        controls = [
            np.concatenate([(np.arange(n)[:, None] * N + np.arange(n)[None, :]).ravel(), N * N + np.arange(n)])
            for n in self.widths
        ]
        transfers = [self.regrid(a, b) for a, b in zip(self.widths[:-1], self.widths[1:], strict=True)]
        return ocp.IntervalSizes(tuple(states), tuple(controls), tuple(transfers))

    def grid_at_node(self, k: int) -> np.ndarray:
        """z_j at grid node k (0..K): the grid of the interval node k starts, the last one at node K."""
        n = self.width if self.widths is None else self.widths[min(k, len(self.widths) - 1)]
        return self.grid(n)[0]

    def regrid(self, n_from: int, n_to: int) -> np.ndarray:
        """(n_to, n_from): values at the n_to-node grid from values at the n_from-node grid."""
        if n_from == n_to:
            return np.eye(n_to)
        z_from, _ = self.grid(n_from)
        z_to, _ = self.grid(n_to)
        if self.rule != "gauss_legendre":
            return np.stack([np.interp(z_to, z_from, e) for e in np.eye(n_from)], axis=1)
        M = np.ones((n_to, n_from))  # Lagrange basis polynomial j at the new nodes
        for j in range(n_from):
            for m in range(n_from):
                if m != j:
                    M[:, j] *= (z_to - z_from[m]) / (z_from[j] - z_from[m])
        return M

    @property
    def homogeneous(self) -> bool:
        return True  # linear in u

    def controls_from(self, kernel: Callable, bias: Callable) -> np.ndarray:
        """u (nu,) for a kernel w(z, z') and bias b(z) (vectorised numpy functions); under a width
        schedule (K, nu), each interval's on its own grid (absent entries 0)."""
        if self.widths is None:
            return self._grid_controls(self.width, kernel, bias)
        return np.stack([self._grid_controls(n, kernel, bias) for n in self.widths])

    def _grid_controls(self, n: int, kernel: Callable, bias: Callable) -> np.ndarray:
        z, w = self.grid(n)
        N = self.width
        W = np.zeros((N, N))
        W[:n, :n] = kernel(z[:, None], z[None, :]) * np.sqrt(np.outer(w, w))
        b = np.zeros(N)
        b[:n] = bias(z) * np.sqrt(w)
        return np.concatenate([W.ravel(), b])

    def embed(self, x: np.ndarray) -> np.ndarray:
        """(N, n_z): x(0, z_j) for points x (N, d)."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        d = x.shape[1]
        n = self.width if self.widths is None else self.widths[0]  # the first grid
        z, _ = self.grid(n)
        a, b = self.domain
        s = (z - a) / (b - a)
        if self.embedding == "piecewise":
            values = x[:, np.minimum((s * d).astype(int), d - 1)]
        else:
            values = x @ np.cos(np.pi * np.arange(d)[:, None] * s[None, :])
        return np.pad(values, ((0, 0), (0, self.width - n)))  # absent nodes hold 0

    def readout(self, x: ca.SX, m: int) -> ca.SX:
        """P x in R^m (see the module docstring); under a width schedule P follows the grid of the
        interval (a per-interval parameter, `interval_parameters`), so that a running cost on P x
        reads each interval's own nodes."""
        if self.widths is None:
            return ca.mtimes(ca.DM(self.readout_matrix(self.width, m)), x)
        return ca.mtimes(ca.reshape(self._readout_symbol(m), m, self.width), x)

    def readout_matrix(self, n: int, m: int) -> np.ndarray:
        """(m, width): P on the grid of n nodes (columns past n are absent nodes, 0)."""
        P = np.zeros((m, self.width))
        if self.readout_kind == "nodes":
            if m > n:
                raise ValueError(f"readout 'nodes' needs m <= n_z, got m = {m}, n_z = {n}")
            P[np.arange(m), np.arange(m)] = 1.0
            return P
        z, w = self.grid(n)
        a, b = self.domain
        part = np.minimum(((z - a) / (b - a) * m).astype(int), m - 1)
        for c in range(m):
            mask = (part == c) * w
            if not mask.sum() > 0:
                raise ValueError(f"readout 'mean': no quadrature node in part {c + 1} of {m}; raise the width")
            P[c, :n] = mask / mask.sum()
        return P

    def _readout_symbol(self, m: int) -> ca.SX:
        symbols = self._readout_symbols
        if m not in symbols:
            symbols[m] = ca.SX.sym("readout", m * self.width)
        return symbols[m]
