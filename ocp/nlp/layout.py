"""Where each quantity sits in the NLP's decision vector w, and reading and writing it there.

The order of w is the transcription's (`transcription.py`'s docstring). With `Problem.interval_sizes`,
an entry that does not exist at a node or on an interval has index -1 in the `Layout`; `take` and `put`
read and write through such indices, and `Padding` maps between a node's existing entries and the
padded symbols the problem's expressions are written in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import casadi as ca
import numpy as np

from ocp.problem.interval_sizes import IntervalSizes


@dataclass(frozen=True)
class Layout:
    """Where each quantity sits in the decision vector w (integer index arrays).

    With `Problem.interval_sizes`, an entry that does not exist at a node or on an
    interval has index -1: read and write through `take` and `put`.
    """

    free_parameters: np.ndarray  # (n_free,)
    horizon: np.ndarray  # (1,) when T is free, else (0,)
    states: np.ndarray  # (K + 1, N, nx); (1, N, nx) in the condensed form (X_0 only)
    controls: np.ndarray  # (K, nu)
    size: int
    slacks: np.ndarray  # (K, n_l1): the slacks of the L1 costs
    # (K + 1, N, nx): where in g the gap-closing constraint of each node's states sits (its multiplier is
    # minus that node's costate, `ocp/solvers/maximum_principle.py`); -1 at node 0 and in the condensed form
    gaps: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), dtype=int))
    # (K, s, N, nx): direct collocation's state values at the s collocation points of each interval, after
    # every other block of w (so the blocks above sit where they do in multiple shooting), -1 for an entry
    # that does not exist on the interval; (0, 0, 0, 0) else
    stages: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0, 0), dtype=int))

    def member_variables(self) -> np.ndarray:
        """(N, n): each member's own variables (node states, then stage values), in one order for all."""
        exists = self.states[:, 0, :] >= 0  # (nodes, nx): the same entries for every member
        own = self.states.transpose(1, 0, 2)[:, exists]
        if self.stages.size:
            stages = self.stages.transpose(2, 0, 1, 3)  # (N, K, s, nx)
            own = np.concatenate([own, stages[:, stages[0] >= 0]], axis=1)
        return own


def take(source: np.ndarray, index: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """source[index], with ``fill`` where the index is -1 (an entry that does not exist)."""
    out = np.full(index.shape, fill, dtype=float)
    exists = index >= 0
    out[exists] = source[index[exists]]
    return out


def put(target: np.ndarray, index: np.ndarray, values) -> None:
    """target[index] = values (broadcast to index's shape), skipping entries that do not exist."""
    values = np.broadcast_to(np.asarray(values, dtype=float), index.shape)
    exists = index >= 0
    target[index[exists]] = values[exists]


@dataclass(frozen=True)
class Padding:
    """Between the existing entries of a node or interval and the padded symbols of the problem."""

    sizes: IntervalSizes | None
    nx: int
    nu: int

    def state_size(self, k: int) -> int:
        return self.nx if self.sizes is None else self.sizes.node_states(k).size

    def control_size(self, k: int) -> int:
        return self.nu if self.sizes is None else self.sizes.controls[k].size

    def state(self, k: int, X: ca.MX) -> ca.MX:
        """Node k's states padded with zeros to nx rows."""
        return X if self.sizes is None else ca.mtimes(select_entries(self.sizes.node_states(k), self.nx).T, X)

    def control(self, k: int, U: ca.MX) -> ca.MX:
        return U if self.sizes is None else ca.mtimes(select_entries(self.sizes.controls[k], self.nu).T, U)

    def interval_entries(self, k: int, padded: ca.MX) -> ca.MX:
        """The rows of a padded (nx, N) expression that exist on interval k (all rows without sizes)."""
        return padded if self.sizes is None else ca.mtimes(select_entries(self.sizes.states[k], self.nx), padded)

    def next_state(self, k: int, end: ca.MX) -> ca.MX:
        """Node k + 1's existing entries from the padded state at the end of interval k."""
        if self.sizes is None:
            return end
        to_next = self.sizes.transfer(k) @ select_entries(self.sizes.states[k], self.nx).toarray()
        return ca.mtimes(ca.sparsify(ca.DM(to_next)), end)


def select_entries(entries: np.ndarray, size: int) -> ca.DM:
    """(len(entries), size) sparse 0/1 matrix picking ``entries``."""
    sp = ca.Sparsity.triplet(entries.size, size, list(range(entries.size)), entries.tolist())
    return ca.DM(sp, 1.0)


def layout_of(
    n_free: int, free_T: bool, K: int, N: int, pad: Padding, state_nodes: int, ns: int = 0, stages: int = 0
) -> Layout:
    """The positions in w of every quantity, in the order of the module docstring of `transcription.py`;
    ``stages`` collocation points per interval (direct collocation), their values after everything else."""
    offset = 0
    free = np.arange(offset, offset + n_free)
    offset += n_free
    horizon = np.arange(offset, offset + int(free_T))
    offset += int(free_T)
    sizes = pad.sizes
    states = np.full((state_nodes, N, pad.nx), -1, dtype=int)
    controls = np.full((K, pad.nu), -1, dtype=int)
    slacks = np.zeros((K, ns), dtype=int)
    gaps = np.full((K + 1, N, pad.nx), -1, dtype=int)
    row = 0  # the gaps come first in g, node 1's to node K's, each vec'd like the states
    for k in range(1, K + 1 if state_nodes > 1 else 1):
        n_k = pad.state_size(k)
        gaps[k][:, slice(None) if sizes is None else sizes.node_states(k)] = row + np.arange(n_k * N).reshape(N, n_k)
        row += n_k * N
    for k in range(K + 1):
        if k < state_nodes:
            # vec of an (n_k, N) block is column-major: member b occupies n_k consecutive entries.
            n_k = pad.state_size(k)
            entries = slice(None) if sizes is None else sizes.node_states(k)
            states[k][:, entries] = offset + np.arange(n_k * N).reshape(N, n_k)
            offset += n_k * N
        if k < K:
            m_k = pad.control_size(k)
            controls[k][slice(None) if sizes is None else sizes.controls[k]] = offset + np.arange(m_k)
            offset += m_k
            slacks[k] = offset + np.arange(ns)
            offset += ns
    stage_index = np.full((K if stages else 0, stages, N if stages else 0, pad.nx), -1, dtype=int)
    for k in range(stage_index.shape[0]):
        n_k = pad.state_size(k)  # interval k's entries, as at node k
        entries = slice(None) if sizes is None else sizes.states[k]
        for i in range(stages):  # Z_{k,i} is (n_k, N), vec'd column-major: member b's n_k entries together
            stage_index[k, i][:, entries] = offset + np.arange(n_k * N).reshape(N, n_k)
            offset += n_k * N
    return Layout(free, horizon, states, controls, offset, slacks, gaps, stage_index)
