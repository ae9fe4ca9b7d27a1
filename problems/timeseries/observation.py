"""What the data see of the model's state: y = h(z), by default the first entries of z.

The model's state z may be larger than the record (``model.states``): its entries beyond the observed ones
are hidden states, which the fit must infer. ``model.observation`` gives h(z) = C z as a matrix (observed
columns x states); omitted, C = [I 0]. Everything that evaluates the observation goes through `Observation`,
which takes any CasADi expression h(z) (the Python API; a linear one is recognised as its matrix).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import casadi as ca
import numpy as np

from ocp.errors import ConfigError


@dataclass(frozen=True)
class Observation:
    """y = h(z): ``output`` is an expression in the model's state symbol ``state``."""

    state: ca.SX  # z, (n, 1)
    output: ca.SX  # h(z), (n_observed, 1)

    @property
    def n_states(self) -> int:
        return self.state.numel()

    @property
    def n_observed(self) -> int:
        return self.output.numel()

    @cached_property
    def _function(self) -> ca.Function:
        return ca.Function("h", [self.state], [self.output])

    @cached_property
    def matrix(self) -> np.ndarray:
        """(n_observed, n) dh/dz at z = 0: C itself when h is linear."""
        jacobian = ca.Function("dh", [self.state], [ca.jacobian(self.output, self.state)])
        return np.asarray(jacobian(np.zeros(self.n_states))).reshape(self.n_observed, self.n_states)

    @cached_property
    def linear(self) -> bool:
        return not ca.depends_on(ca.jacobian(self.output, self.state), self.state)

    @property
    def is_identity(self) -> bool:
        """y = z: no hidden state and nothing mixed (the model's state is the record's)."""
        if self.n_states != self.n_observed or not self.linear:
            return False
        return np.array_equal(self.matrix, np.eye(self.n_states)) and not self(np.zeros(self.n_states)).any()

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """h of each row of ``z`` (..., n) -> (..., n_observed); NaN rows stay NaN."""
        z = np.asarray(z, dtype=float)
        rows = z.reshape(-1, self.n_states)
        y = np.asarray(self._function.map(rows.shape[0])(rows.T)).T if rows.size else np.zeros((0, self.n_observed))
        return y.reshape(*z.shape[:-1], self.n_observed)

    def states_from(self, y: np.ndarray, hidden: np.ndarray) -> np.ndarray:
        """A state z with h(z) = y (least squares, for h linearised at 0) whose other directions (the null
        space of C) are ``hidden``: (..., n_observed), (..., n - n_observed) -> (..., n). With C = [I 0]
        that is z = [y, hidden]."""
        C = self.matrix
        offset = self(np.zeros(self.n_states))
        if np.array_equal(C, np.eye(*C.shape)):  # [I 0]: the hidden entries are z's last ones, in their order
            null = np.eye(self.n_states)[:, self.n_observed :]
        else:
            null = np.linalg.svd(C)[2][np.linalg.matrix_rank(C) :].T  # (n, n - rank): C @ null = 0
            null = null[:, : self.n_states - self.n_observed]  # a nonlinear h's C may have a lower rank
        return (y - offset) @ np.linalg.pinv(C).T + hidden @ null.T


def linear_observation(state: ca.SX, n_observed: int, matrix: tuple[tuple[float, ...], ...] | None) -> Observation:
    """y = C z on the model's ``state``: C = [I 0] when ``matrix`` is None, else the rows given (the config's
    ``model.observation``: a bad shape, value or rank is a ConfigError naming it)."""
    n = state.numel()
    if matrix is None:
        return Observation(state, state[:n_observed])
    rows = [len(row) for row in matrix]
    if len(matrix) != n_observed or any(r != n for r in rows):
        raise ConfigError(
            f"'model.observation' must be {n_observed} x {n} (observed columns x model.states), "
            f"got {len(matrix)} rows of lengths {rows}"
        )
    C = np.array(matrix, dtype=float).reshape(n_observed, n)
    if not np.all(np.isfinite(C)):
        raise ConfigError(f"'model.observation' must hold finite numbers, got {C.tolist()}")
    if np.linalg.matrix_rank(C) < n_observed:
        raise ConfigError(f"'model.observation' must have independent rows (rank {n_observed}), got {C.tolist()}")
    return Observation(state, ca.mtimes(ca.DM(C), state))
