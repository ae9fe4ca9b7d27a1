"""Direct collocation's start at its collocation points, from the node states and controls of a guess.

Multiple shooting starts from a guess's node states and controls. A collocation NLP also has values at
the points inside each interval. They are taken from the implicit Runge-Kutta method of the same points
(`DirectCollocation.integrator`) applied to each node state and control, so the collocation equations
hold at the start, as the gaps do after a simulation. Where that blows up, the line between the node
states is used instead. Measured on a learning problem (benchmarks/README.md, `collocation.py`): from a
first-order start collocation converges in 3-5 IPOPT iterations, but from a plain simulated start it
did not converge in 1000 iterations with either start at the points.
"""

from __future__ import annotations

import casadi as ca
import numpy as np

from ocp.nlp.functions import dynamics_function
from ocp.nlp.layout import put, take
from ocp.nlp.transcription import TranscribedNLP, per_interval_function
from ocp.problem.method import MultipleShooting


class StageStart:
    """Fills the collocation values of a start w; leaves a multiple-shooting w as it is."""

    def __init__(self, nlp: TranscribedNLP, method: MultipleShooting) -> None:
        self.nlp, self.method = nlp, method
        self._function: ca.Function | None = None  # built on first use

    def fill(self, w: np.ndarray, p: np.ndarray) -> np.ndarray:
        layout = self.nlp.layout
        if not layout.stages.size:
            return w
        K, s, N, nx = layout.stages.shape
        # column k N + b holds member b's s stacked stage states on interval k
        per_stage = np.asarray(self._stage_states()(w, p)).reshape(s, nx, K, N).transpose(2, 0, 3, 1)
        if np.all(np.isfinite(per_stage)):
            put(w, layout.stages, per_stage)
        else:  # a simulation that blew up: the line between the node states
            states = take(w, layout.states)
            points = self.method.points()[None, :, None, None]
            put(w, layout.stages, states[:-1, None] + points * (states[1:, None] - states[:-1, None]))
        return w

    def _stage_states(self) -> ca.Function:
        """(w, p) -> (s nx, K N): the implicit method's stage states from each node state and control."""
        if self._function is None:
            integrator, f = self.method.integrator, dynamics_function(self.nlp.problem)

            def stages(x, u, p, t, T, d, h):
                return integrator.stage_states(lambda z, tau: f(z, u, p, tau, T, d), x, t, h)

            self._function = per_interval_function(self.nlp, "stage_guess", stages)
        return self._function
