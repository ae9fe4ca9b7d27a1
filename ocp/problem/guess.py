"""Initial guesses: given arrays, a previous solution (warm start), or a forward simulation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ocp.errors import ProblemError


@dataclass(frozen=True)
class InitialGuess:
    """A starting point for the solver; any part left None gets the default.

    states : (nx,), (K+1, nx) or (N, K+1, nx); None forward-simulates the
        controls from the initial states, so the start satisfies the dynamics.
    controls : (nu,) or (K, nu); None uses the problem's ``control_guess``.
    free_parameters : name -> value.   T : horizon guess (free final time).
    """

    states: np.ndarray | None = None
    controls: np.ndarray | None = None
    free_parameters: Mapping[str, np.ndarray] = field(default_factory=dict)
    T: float | None = None

    def controls_array(self, K: int, nu: int, default) -> np.ndarray:
        value = self.controls if self.controls is not None else default
        return _broadcast(value, [(K, nu)], "controls")

    def states_array(self, K: int, N: int, nx: int) -> np.ndarray:
        return _broadcast(self.states, [(N, K + 1, nx)], "states")


def _broadcast(value, shapes: list[tuple[int, ...]], what: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    target = shapes[0]
    try:
        return np.broadcast_to(arr, target).copy()
    except ValueError:
        raise ProblemError(
            f"initial guess for {what} has shape {arr.shape}, expected one that broadcasts to {target}"
        ) from None


def interpolate(solution, grid: np.ndarray) -> InitialGuess:
    """An `InitialGuess` on another normalised grid (K+1 nodes in [0, 1]) from a solution.

    States are interpolated linearly; controls are sampled at interval
    midpoints (they are piecewise constant).
    """
    tau_old = solution.t / solution.T
    states = np.stack(
        [
            np.stack([np.interp(grid, tau_old, member[:, i]) for i in range(member.shape[1])], axis=1)
            for member in solution.states
        ]
    )
    mid = 0.5 * (grid[1:] + grid[:-1])
    interval = np.clip(np.searchsorted(tau_old, mid, side="right") - 1, 0, solution.K - 1)
    return InitialGuess(
        states=states,
        controls=solution.controls[interval],
        free_parameters=dict(solution.free_parameters),
        T=solution.T,
    )
