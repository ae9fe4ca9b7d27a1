"""The L1 costs' slacks in a start: S = |e| on each interval, the smallest values their constraints allow.

A guess names states and controls, never slacks. Started at 0, every slack whose e is not 0 violates
-S <= e <= S, and IPOPT first spends iterations restoring them; from a solution of another NLP (a
multiple-shooting optimum warm-starting direct collocation) that detour can end at another optimum.
At S = |e| the constraints hold and the L1 terms equal their value at the guess's controls.
"""

from __future__ import annotations

import casadi as ca
import numpy as np

from ocp.nlp.layout import put
from ocp.nlp.transcription import TranscribedNLP


class SlackStart:
    """Sets the slacks of a start w to |e| at its controls (and states); without slacks, leaves w as is."""

    def __init__(self, nlp: TranscribedNLP) -> None:
        self.nlp = nlp
        self._function: ca.Function | None = None  # built on first use

    def fill(self, w: np.ndarray, p: np.ndarray) -> np.ndarray:
        slacks = self.nlp.layout.slacks
        if not slacks.size:
            return w
        if self._function is None:
            self._function = ca.Function("l1_residuals", [self.nlp.w, self.nlp.p], [self.nlp.l1_residuals])
        e = np.asarray(self._function(w, p)).reshape(slacks.shape)
        if np.all(np.isfinite(e)):
            put(w, slacks, np.abs(e))
        return w
