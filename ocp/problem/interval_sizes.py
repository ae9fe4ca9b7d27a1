"""States and controls whose number changes between control intervals.

A network whose width changes with depth has n_k state entries on interval k.
The problem is written once in padded symbols of the largest sizes (state nx,
control nu); `IntervalSizes` says which entries exist on each interval and how the
state passes, at the node between intervals k and k + 1, from interval k's
entries to interval k + 1's: x_{k+1} = M_k x(t_{k+1}^-), e.g. interpolation
from one quadrature grid to the next. The transcription makes NLP variables of
the existing entries only (`transcription.py`); every expression of the
problem sees zeros in place of the missing ones, so it must not let them
matter (a padded quadrature weight of 0, say). Constants that change with the
interval (the weights of the current grid) are parameters with a value per
interval (`Parameter(per_interval=True)`).

Node k (0 <= k < K) holds the state entering interval k; node K the state
leaving interval K - 1, on that interval's entries. The arrays of a solution
keep the padded shapes, with 0 where an entry does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ocp.errors import ProblemError


def _indices(entries: Sequence[int] | np.ndarray, size: int, what: str) -> np.ndarray:
    index = np.asarray(entries, dtype=int).ravel()
    if index.size == 0 or np.any(index < 0) or np.any(index >= size) or np.any(np.diff(index) <= 0):
        raise ProblemError(f"{what}: needs increasing indices in 0..{size - 1}, got {index.tolist()}")
    return index


@dataclass(frozen=True)
class IntervalSizes:
    """Which state and control entries exist on each of the K intervals, and the transfers between them.

    states, controls : K index sequences (increasing) into the padded state and control.
    transfers : K - 1 matrices, M_k of shape (len(states[k + 1]), len(states[k])); the
        default carries entries present on both intervals and starts new ones at 0.
    """

    states: tuple[np.ndarray, ...]
    controls: tuple[np.ndarray, ...]
    transfers: tuple[np.ndarray, ...] | None = None

    @property
    def K(self) -> int:
        return len(self.states)

    def check(self, nx: int, nu: int) -> None:
        """Normalises the index arrays and transfers; a ProblemError names what does not fit."""
        if len(self.controls) != self.K or self.K < 1:
            raise ProblemError(
                "interval_sizes: states and controls need one entry per interval, "
                f"got {self.K} and {len(self.controls)}"
            )
        states = tuple(_indices(s, nx, f"interval_sizes.states[{k}]") for k, s in enumerate(self.states))
        controls = tuple(_indices(c, nu, f"interval_sizes.controls[{k}]") for k, c in enumerate(self.controls))
        if self.transfers is None:
            transfers = tuple(_carry(states[k], states[k + 1]) for k in range(self.K - 1))
        else:
            transfers = tuple(np.asarray(M, dtype=float) for M in self.transfers)
            if len(transfers) != self.K - 1:
                raise ProblemError(
                    f"interval_sizes.transfers: needs K - 1 = {self.K - 1} matrices, got {len(transfers)}"
                )
            for k, M in enumerate(transfers):
                if M.shape != (states[k + 1].size, states[k].size):
                    raise ProblemError(
                        f"interval_sizes.transfers[{k}] must have shape "
                        f"{(states[k + 1].size, states[k].size)}, got {M.shape}"
                    )
        object.__setattr__(self, "states", states)
        object.__setattr__(self, "controls", controls)
        object.__setattr__(self, "transfers", transfers)

    def node_states(self, k: int) -> np.ndarray:
        """The state entries at node k (0..K)."""
        return self.states[min(k, self.K - 1)]

    def transfer(self, k: int) -> np.ndarray:
        """M_k: node k + 1's entries from the end of interval k (the identity after the last interval)."""
        return self.transfers[k] if k < self.K - 1 else np.eye(self.states[-1].size)

    def masks(self, nx: int, nu: int) -> tuple[np.ndarray, np.ndarray]:
        """(K + 1, nx) and (K, nu): True where an entry exists at a node / on an interval."""
        states = np.zeros((self.K + 1, nx), dtype=bool)
        controls = np.zeros((self.K, nu), dtype=bool)
        for k in range(self.K + 1):
            states[k, self.node_states(k)] = True
        for k in range(self.K):
            controls[k, self.controls[k]] = True
        return states, controls

    def next_state(self, k: int, end: np.ndarray) -> np.ndarray:
        """Padded node k + 1 states (nx, N) from the padded states (nx, N) at the end of interval k."""
        out = np.zeros_like(end)
        out[self.node_states(k + 1)] = self.transfer(k) @ end[self.states[k]]
        return out


def _carry(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Entries present on both intervals keep their value; new ones start at 0."""
    M = np.zeros((new.size, old.size))
    common, i_new, i_old = np.intersect1d(new, old, return_indices=True)
    M[i_new, i_old] = 1.0
    return M
