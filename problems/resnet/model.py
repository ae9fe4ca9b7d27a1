"""Problem C (docs/science.md, C): a deep ResNet posed as a discrete-time OCP.

    h_{k+1} = h_k + (T / L) V_{k+1} sigma(W_{k+1} h_k),   k = 0..L-1,   h_0 = x_i

State h in R^d (one trajectory per data point), control on layer k the
weights Z_k = (V_k in R^{d x m}, W_k in R^{m x d}), u = (V row-major, W
row-major), nu = 2 m d. Explicit Euler with one step on K = L intervals of
[0, T] is exactly this ResNet; T = 1 gives the paper's 1/L. Cost: the squared
loss of the first m_y coordinates of h_L against y, averaged over the points,
plus lambda ||u||^2_L2 (default 0: the paper trains the loss alone).

Initialisations (Marion et al.): ``smooth``, V_k = 0 and every W_k the same
N(0, 1/d) draw; ``iid``, independent draws per layer (W N(0, 1/d), V N(0, 1/m)).
Trained by `solver: gradient_flow` (full-batch gradient descent, learning
rate scaled by L: `ocp/solvers/gradient_flow.py`) or solved by IPOPT like every
other problem. Metrics and figures: `report.py`; the problem type: `__init__.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import casadi as ca
import numpy as np

import ocp
from ocp.options import at_least

from ..learning.activations import activation
from ..learning.datasets import Dataset, DataSource
from ..learning.ensemble import ensemble_problem
from ..learning.losses import loss, prediction
from ..learning.problem_type import LOSS
from ..learning.settings import DataSettings

REGULARIZATION = "regularization"


@dataclass(frozen=True)
class ResNetData(DataSettings):
    """``data:`` as for every learning problem, with the paper's defaults: 100 Gaussian points in d = 16."""

    source: DataSource = "gaussian"
    n_train: int = at_least(2, 100)
    n_test: int = at_least(0, 0)
    dim: int = at_least(1, 16)


@dataclass(frozen=True)
class ResNetSettings:
    """Config keys of ``problem: resnet`` (beside `RunSettings`: K is the depth L, integrator euler)."""

    data: ResNetData = field(default_factory=ResNetData)
    width: int = at_least(1, 32)
    activation: Literal["gelu", "tanh", "smooth_relu"] = "gelu"
    init: Literal["smooth", "iid"] = "smooth"
    lam: float = field(default=0.0, metadata={"key": "lambda", "ge": 0.0})
    # after training, IPOPT from the endpoint on the same discrete problem (summary: ipopt_objective)
    compare_ipopt: bool = False


@dataclass(frozen=True)
class ResNetShape:
    d: int
    m: int

    @property
    def nu(self) -> int:
        return 2 * self.m * self.d

    def split(self, u):
        """(V (d, m), W (m, d)) from one layer's controls u (SX or a numpy row)."""
        d, m = self.d, self.m
        if isinstance(u, np.ndarray):
            return u[: d * m].reshape(d, m), u[d * m :].reshape(m, d)
        return ca.reshape(u[: d * m], m, d).T, ca.reshape(u[d * m :], d, m).T


def resnet_problem(data: Dataset, width: int, sigma: str, *, T: float = 1.0, lam: float = 0.0) -> ocp.Problem:
    """The ResNet OCP of ``data``: x' = V sigma(W x) per member, terminal squared loss, lambda ||u||^2."""
    shape = ResNetShape(data.dim, width)
    if data.label_dim > data.dim:
        raise ValueError(f"targets have {data.label_dim} components but the state only {data.dim}")
    h, u, y = ca.SX.sym("h", shape.d), ca.SX.sym("u", shape.nu), ca.SX.sym("y", data.label_dim)
    V, W = shape.split(u)
    symbols = _Symbols(h, u, y, ca.mtimes(V, activation(sigma)(ca.mtimes(W, h))))
    lam_sym = ca.SX.sym("lambda")
    return ensemble_problem(
        symbols,
        data,
        T,
        parameters=(ocp.Parameter(lam_sym, lam),),
        running_costs={REGULARIZATION: lam_sym * ca.sumsqr(u)},
        terminal_costs={LOSS: loss(prediction(h, data.label_dim, "identity"), y, "squared")},
    )


@dataclass(frozen=True)
class _Symbols:  # an `EnsembleSymbols` (problems/learning/ensemble.py): what `ensemble_problem` reads
    state: ca.SX
    control: ca.SX
    label: ca.SX
    dynamics: ca.SX
    interval_parameters: tuple = ()  # the ResNet's width is fixed
    interval_sizes: None = None

    @staticmethod
    def embed(x: np.ndarray) -> np.ndarray:  # h_0 = x_i
        return np.atleast_2d(np.asarray(x, dtype=float))


def initial_weights(init: str, L: int, shape: ResNetShape, seed: int) -> np.ndarray:
    """(L, nu) layer weights: ``smooth`` (V = 0, one W for all layers) or ``iid`` (independent layers)."""
    rng = np.random.default_rng(seed)
    d, m = shape.d, shape.m
    if init == "smooth":
        W = rng.normal(scale=1 / np.sqrt(d), size=m * d)
        return np.tile(np.concatenate([np.zeros(d * m), W]), (L, 1))
    if init == "iid":
        V = rng.normal(scale=1 / np.sqrt(m), size=(L, d * m))
        return np.hstack([V, rng.normal(scale=1 / np.sqrt(d), size=(L, m * d))])
    raise ValueError(f"unknown init {init!r}; choose smooth or iid")


@dataclass(frozen=True)
class ResNetContext:
    train: Dataset
    test: Dataset
    shape: ResNetShape
    method: ocp.MultipleShooting
    settings: ResNetSettings
