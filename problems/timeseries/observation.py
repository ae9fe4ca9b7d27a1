"""What the data see of the model's state: y = h(z), by default the first entries of z.

The model's state z may be larger than the record (``model.states``): its entries beyond the observed ones
are hidden states, which the fit must infer. ``model.observation`` gives h(z) one row per observed column:
a row of numbers (h_i = C_i z) or a formula in z1, ..., zn (`expressions.py`), both in the model's units (the
observed columns standardised, unless ``normalize: false``); omitted, C = [I 0]. Everything that evaluates
the observation goes through `Observation`, which takes any CasADi expression h(z) (the Python API; a linear
one is recognised as its matrix).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import casadi as ca
import numpy as np

from ocp.errors import ConfigError

from .expressions import parse


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


def configured_observation(state: ca.SX, n_observed: int, rows: tuple | None) -> Observation:
    """h(z) on the model's ``state`` from the config's ``model.observation`` (None: C = [I 0]): each row a
    list of n numbers or a formula in z1..zn. A bad shape, value, formula or (for numbers only) rank is a
    ConfigError naming it."""
    n = state.numel()
    if rows is None:
        return Observation(state, state[:n_observed])
    shape = f"{n_observed} x {n} (observed columns x model.states)"
    if len(rows) != n_observed:
        raise ConfigError(f"'model.observation' must be {shape}: one row per observed column, got {len(rows)} rows")
    names = {f"z{i + 1}": state[i] for i in range(n)}
    outputs = []
    for i, row in enumerate(rows):
        field = f"model.observation[{i}]"
        if isinstance(row, str):
            h = parse(row, names, field)
            if not ca.depends_on(h, state):
                raise ConfigError(f"{field!r}: {row!r} does not depend on the state z1..z{n}")
            outputs.append(h)
        elif isinstance(row, list | tuple):
            if len(row) != n:
                raise ConfigError(f"'model.observation' must be {shape}, got a row {i} of length {len(row)}")
            for j, value in enumerate(row):
                if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
                    raise ConfigError(f"'{field}[{j}]' must be a finite number, got {value!r}")
            outputs.append(ca.mtimes(ca.DM(row).T, state))
        else:
            raise ConfigError(f"{field!r} must be a list of {n} numbers or a formula in z1..z{n}, got {row!r}")
    observation = Observation(state, ca.vertcat(*outputs))
    if all(not isinstance(row, str) for row in rows) and np.linalg.matrix_rank(observation.matrix) < n_observed:
        raise ConfigError(
            f"'model.observation' must have independent rows (rank {n_observed}), got {observation.matrix.tolist()}"
        )
    return observation
