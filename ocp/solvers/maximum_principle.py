"""A certificate from the maximum principle: costates from IPOPT's multipliers, and the Hamiltonian's
stationarity in the controls checked against an independent gradient.

Multiple shooting closes each interval with X_{k+1} - Phi(X_k, U_k) = 0. With the NLP's Lagrangian
f + lam_g' g + lam_x' w (CasADi's convention), stationarity in X_{k+1} reads

    p_{k+1} = d f / d X_{k+1} + Phi_x(X_{k+1}, U_{k+1})' p_{k+2},   p_{k+1} := -(multiplier of gap k),

the discrete adjoint equation, with p_K = d(terminal cost)/dx: the multipliers ARE the discrete
costates, one per member and node (node 0's is minus the multiplier of the initial state's bound, 0
where x(0) is free). Stationarity in U_k is then the discrete maximum principle: the control of each
interval is a stationary point of the discrete Hamiltonian

    H_k(U) = (the part of f on interval k) + sum_i p_{i,k+1}' Phi(X_{i,k}, U),

    dH_k/dU = df/dU_k + sum_i Phi_u(X_{i,k}, U_k)' p_{i,k+1}
            = 2 lambda h U_k + sum_i Phi_u' p_{i,k+1}   (the L2 learning problems).

Where the control is free this vanishes. Where an L1 cost acts it is the switching function: at an
interval with U_k = 0 it lies in [-lambda h, lambda h] componentwise (u = 0 minimises |u| + sigma u
exactly there), and the last interval where it leaves that band is the stopping time T*.

The check evaluates dH/dU from the multipliers and, independently, the gradient of the condensed
objective J(U) (states by forward simulation, derivatives by CasADi's reverse mode; no multiplier
involved, `first_order.py`). Both are the same vector whenever the costates solve the adjoint
equation, so their difference tests the costates themselves, and a small dH/dU is the first-order
condition a reader of the papers recognises. (With constraints on the states, their multipliers enter
the adjoint equation and the comparison does not apply; it is skipped.)
"""

from __future__ import annotations

import time

import casadi as ca
import numpy as np

from ocp.nlp.layout import take
from ocp.nlp.transcription import TranscribedNLP
from ocp.solvers.first_order import FirstOrderPhase
from ocp.solvers.records import MaximumPrincipleReport


def costates(nlp: TranscribedNLP, multipliers_g: np.ndarray, multipliers_x: np.ndarray) -> np.ndarray:
    """(N, K + 1, nx) discrete costates p_{i,k} read from the multipliers (module docstring); zeros in the
    condensed form, where there are no gap constraints."""
    layout = nlp.layout
    p = -take(np.asarray(multipliers_g, dtype=float), layout.gaps)
    p[0] = -take(np.asarray(multipliers_x, dtype=float), layout.states[0])
    return p.transpose(1, 0, 2)


class MaximumPrincipleCheck:
    """dH/dU from the multipliers and the condensed gradient at the same point; built on first use."""

    def __init__(self, nlp: TranscribedNLP, phase: FirstOrderPhase | None):
        self.nlp, self.phase = nlp, phase
        self.n_gaps = nlp.n_dynamics  # the gaps, and with collocation the ODE at the points: first in g
        self._gradient: ca.Function | None = None

    def _gradients(self) -> ca.Function:
        """(w, p, lam_gaps) -> (df/dw, d(f + lam_gaps' g_gaps)/dw): the gap constraints only, so that the
        control entries of the second are dH/dU (module docstring), those of the first df/dU."""
        if self._gradient is None:
            nlp = self.nlp
            lam = ca.MX.sym("lam_gaps", self.n_gaps)
            objective = ca.gradient(nlp.f, nlp.w)
            gaps = ca.jtimes(nlp.g[: self.n_gaps], nlp.w, lam, True)  # J' lam, the gaps' part of the Lagrangian
            self._gradient = ca.Function("hamiltonian_gradient", [nlp.w, nlp.p, lam], [objective, objective + gaps])
        return self._gradient

    def run(self, w: np.ndarray, p: np.ndarray, multipliers_g: np.ndarray, steps: np.ndarray) -> MaximumPrincipleReport:
        """The report at the point ``w`` with its multipliers; ``steps`` (K,) the interval lengths h_k."""
        start = time.perf_counter()
        layout = self.nlp.layout
        if layout.controls.shape[1] == 0:  # e.g. a fitted vector field: only free parameters are optimised
            return MaximumPrincipleReport(skipped="no controls: the maximum principle has no condition to check")
        lam = np.asarray(multipliers_g, dtype=float)[: self.n_gaps]
        objective, lagrangian = (np.asarray(g).ravel() for g in self._gradients()(w, p, lam))
        h_u = take(lagrangian, layout.controls)  # (K, nu): dH_k/dU_k, 0 where a control entry does not exist
        direct = take(objective, layout.controls)
        per_interval = np.linalg.norm(h_u, axis=1)
        scale = float(np.max(np.linalg.norm(direct, axis=1), initial=0.0))
        report = {
            "residual": float(np.max(per_interval, initial=0.0)),
            "scale": scale,
            "residual_per_interval": per_interval.tolist(),
            "switching": (h_u / np.asarray(steps, dtype=float)[:, None]).tolist()
            if self.nlp.problem.l1_costs
            else None,
        }
        reason = self._comparison_obstacle()
        if reason:
            report["comparison_skipped"] = reason
        else:
            condensed = take(self.phase.gradient_at(w, p), self.phase.condensed.layout.controls)
            report["condensed_gradient"] = float(np.max(np.linalg.norm(condensed, axis=1), initial=0.0))
            report["difference"] = float(np.max(np.linalg.norm(h_u - condensed, axis=1), initial=0.0))
        return MaximumPrincipleReport(**report, time_s=time.perf_counter() - start)

    def _comparison_obstacle(self) -> str:
        problem = self.nlp.problem
        if self.phase is None or self.phase.skipped:
            return f"no condensed objective here ({self.phase.skipped if self.phase else 'not built'})"
        if problem.path_constraints or problem.initial_constraints or problem.final_constraints:
            return "constraints at the nodes: their multipliers enter the adjoint equation"
        return ""
