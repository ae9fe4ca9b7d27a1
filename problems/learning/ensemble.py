"""Supervised learning as an ensemble OCP: one trajectory per data point, one shared control.

x_i' = f(x_i, u(t)),  x_i(0) = x_i  (i = 1..N),  prediction g(P x_i(T)) against y_i.
The regularisation modules (l2, ...) add their cost terms to the pieces here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import casadi as ca
import numpy as np

import ocp

from .datasets import Dataset
from .losses import Loss, Output, classify, labels, loss, prediction


@runtime_checkable
class Network(Protocol):
    """What `learning_symbols` reads from a network: `networks.NetworkDynamics` and
    `spacetime.SpaceTimeDynamics` are the two (a new architecture implements these and nothing else)."""

    def state_size(self, d: int) -> int: ...  # n, the state's size for data of dimension d

    def control_size(self, d: int) -> int: ...  # nu, the weights of one layer

    def embed(self, x: np.ndarray) -> np.ndarray: ...  # data points (N, d) -> initial states (N, n)

    def readout(self, x: ca.SX, m: int) -> ca.SX: ...  # P x, the m coordinates the loss reads

    def rhs(self, x: ca.SX, u: ca.SX) -> ca.SX: ...  # f(x, u)

    def interval_parameters(self, m: int) -> tuple[ocp.Parameter, ...]: ...  # what the dynamics read per interval

    def interval_sizes(self) -> ocp.IntervalSizes | None: ...  # a state size that changes with depth


@runtime_checkable
class EnsembleSymbols(Protocol):
    """What `ensemble_problem` reads: `LearningSymbols`, and the ResNet's (`problems/resnet/model.py`)."""

    state: ca.SX
    control: ca.SX
    label: ca.SX
    dynamics: ca.SX
    interval_parameters: tuple
    interval_sizes: ocp.IntervalSizes | None

    def embed(self, x: np.ndarray) -> np.ndarray: ...  # data points (N, d) -> initial states (N, n)


@dataclass(frozen=True)
class LearningSymbols:
    """The symbols and expressions shared by every learning problem."""

    state: ca.SX  # x (n,): n = d, or the width of a space-time network
    control: ca.SX  # u (nu,)
    label: ca.SX  # y (m,), per-member data
    dynamics: ca.SX  # f(x, u)
    point_loss: ca.SX  # loss(g(P x), y)
    output: ca.SX  # g(P x)
    readout: ca.SX  # P x (m,)
    embed: Callable[[np.ndarray], np.ndarray]  # data points (N, d) -> initial states (N, n)
    interval_parameters: tuple[ocp.Parameter, ...] = ()  # what the dynamics read per interval
    interval_sizes: ocp.IntervalSizes | None = None  # a width that changes with depth (`spacetime.py`)

    def function(self, name: str, inputs: list[ca.SX], output: ca.SX) -> ca.Function:
        """``output`` of ``inputs`` and the interval parameters (call with `node_parameters`)."""
        return ca.Function(name, [*inputs, *[p.symbol for p in self.interval_parameters]], [output])

    def node_parameters(self, k: int | None = None) -> list[np.ndarray]:
        """The interval parameters' values at node k (the interval it starts; None: the last one)."""
        values = [np.atleast_2d(np.asarray(p.value, dtype=float)) for p in self.interval_parameters]
        return [v[-1 if k is None else min(k, v.shape[0] - 1)] for v in values]

    def project(self, states: np.ndarray) -> np.ndarray:
        """P x for states (N, K+1, n) on the grid (each node with its own P): (N, K+1, m)."""
        states = np.asarray(states, dtype=float)
        P = self.function("readout", [self.state], self.readout).map(states.shape[0])
        nodes = [np.asarray(P(states[:, k].T, *self.node_parameters(k))).T for k in range(states.shape[1])]
        return np.stack(nodes, axis=1)


def learning_symbols(data: Dataset, dynamics: Network, loss_kind: Loss, output: Output) -> LearningSymbols:
    """The symbols of the learning OCP; ``dynamics`` says the state's size, the embedding of a data point
    as initial state, and the readout P (the first m coordinates but for space-time networks)."""
    d, m = data.dim, data.label_dim
    n = dynamics.state_size(d)
    if m > n:
        raise ValueError(f"labels have {m} components but the state only {n}: P (first m coordinates) needs m <= {n}")
    x = ca.SX.sym("x", n)
    u = ca.SX.sym("u", dynamics.control_size(d))
    y = ca.SX.sym("y", m)
    P = dynamics.readout(x, m)
    z = prediction(P, m, output)
    return LearningSymbols(
        x,
        u,
        y,
        dynamics.rhs(x, u),
        loss(z, y, loss_kind),
        z,
        P,
        dynamics.embed,
        dynamics.interval_parameters(m),
        dynamics.interval_sizes(),
    )


def ensemble_problem(s: EnsembleSymbols, data: Dataset, T: float, **terms) -> ocp.Problem:
    """The learning OCP of ``data``: one trajectory per point from x_i, labels as member data, costs
    averaged over the points; ``terms`` are the module's costs and parameters (Problem keywords)."""
    parameters = (*terms.pop("parameters", ()), *s.interval_parameters)
    return ocp.Problem(
        state=s.state,
        control=s.control,
        dynamics=s.dynamics,
        horizon=ocp.Horizon.fixed(T),
        initial_state=s.embed(data.x),
        ensemble_data=ocp.EnsembleData(s.label, data.y),
        aggregate="mean",
        parameters=parameters,
        interval_sizes=s.interval_sizes,
        **terms,
    )


def random_controls(K: int, nu: int, scale: float, seed: int) -> np.ndarray:
    """Small random controls (K, nu): breaks the symmetry of u = 0, keeps the start near it."""
    return scale * np.random.default_rng(seed).standard_normal((K, nu))


@dataclass(frozen=True)
class Classifier:
    """A solved learning problem used as a classifier on new points."""

    problem: ocp.Problem
    method: ocp.MultipleShooting
    solution: ocp.Solution
    symbols: LearningSymbols
    classes: np.ndarray

    def trajectories(self, x: np.ndarray) -> np.ndarray:
        """(N, K+1, n): new points x (N, d), embedded, carried by the optimal controls."""
        return ocp.simulate(
            self.problem,
            self.method,
            self.solution.controls,
            initial_states=self.symbols.embed(x),
            T=self.solution.T,
            parameters={**self.solution.parameters, **self.solution.free_parameters},
        )

    def outputs(self, x: np.ndarray) -> np.ndarray:
        """(N, m) predictions g(P x(T)) for points x (N, d)."""
        final = self.trajectories(x)[:, -1, :]
        g = self.symbols.function("output", [self.symbols.state], self.symbols.output).map(final.shape[0])
        return np.asarray(g(final.T, *self.symbols.node_parameters())).T

    def predict(self, x: np.ndarray) -> np.ndarray:
        return classify(self.outputs(x), self.classes)

    def accuracy(self, data: Dataset) -> float:
        if data.n == 0:
            return float("nan")
        return float(np.mean(self.predict(data.x) == labels(data.y)))

    def loss(self, data: Dataset) -> float:
        """E(x(T)) for the points of ``data`` (e.g. a test set)."""
        s = self.symbols
        point = s.function("point_loss", [s.state, s.label], s.point_loss).map(data.n)
        final = self.trajectories(data.x)[:, -1, :]
        return float(np.sum(np.asarray(point(final.T, data.y.T, *s.node_parameters())))) / data.n

    def loss_along_trajectory(self) -> np.ndarray:
        """E(x(t_k)) on the grid (K+1,) for the training trajectories of the solution."""
        s = self.symbols
        f = s.function("point_loss", [s.state, s.label], s.point_loss).map(self.solution.N)
        y = self.problem.data_values.T
        return np.array(
            [
                float(ca.sum2(f(states.T, y, *s.node_parameters(k)))) / self.solution.N
                for k, states in enumerate(self.solution.states.transpose(1, 0, 2))
            ]
        )


def rescaled_guess(solution: ocp.Solution, T: float) -> ocp.InitialGuess:
    """A start on [0, T] from a solution on [0, T0] (docs/science.md, A: u_T(t) = (T0/T) u(t T0/T)).

    For homogeneous dynamics ("inside") the rescaled controls move
    every point along the same path, so x(T) and the loss are unchanged while
    lambda ||u||^2_L2 shrinks by T0/T: the start is feasible and no worse.
    """
    ratio = solution.T / T
    return ocp.InitialGuess(states=solution.states, controls=ratio * solution.controls)
