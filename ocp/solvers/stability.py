"""Does the integrator integrate the ODE? For an explicit one, h x (the spectral radius of df/dx) against
its stability interval; for an implicit one, the stage residual its Newton iterations leave. Both at the
guess and at the solution, for every member and interval.

An explicit Runge-Kutta step multiplies a mode with eigenvalue lambda of df/dx by R(h lambda), a
polynomial; where |R| > 1 the discrete trajectory grows although the true one decays, and IPOPT can
still return Solve_Succeeded on the wrong problem (measured: a stiff linear-quadratic problem with
eigenvalues -1 and -1000, K = 50, T = 5, RK4 with one step per interval: an optimum more than twice the
true one). The check assumes the fast eigenvalues lie near the negative real axis, where the stability
interval is [-bound, 0] (2 for Euler and the midpoint rule, 2.785 for RK4); eigenvalues with a large
imaginary part can be unstable sooner (Euler on a pure rotation, at any step). It costs one evaluation
of df/dx per member and interval and their eigenvalues (nx <= 64; power iterations beyond).

Direct collocation gets h rho here, over one element, and a re-simulation in `resolution.py`.

The implicit integrators (`Radau`, `GaussLegendre`) are A-stable, so no bound applies; what can go wrong
there is the fixed number of Newton iterations that solve their stage equations inside the NLP.
Unconverged, they are another map, and IPOPT exploits it (measured: a stiff cubic problem at h = 0.5,
three iterations: an optimal first control of 18 where the converged method's is -0.11). The check
flags a stage residual above NEWTON_TOLERANCE at the solution.
"""

from __future__ import annotations

import math

import casadi as ca
import numpy as np

from ocp.nlp.functions import dynamics_function
from ocp.nlp.transcription import TranscribedNLP, per_interval_function
from ocp.solvers.records import StabilityReport

NEWTON_TOLERANCE = 1e-8  # the largest stage residual |k_i - f(stage i)| counted as converged
EXACT_UP_TO = 64  # state sizes whose Jacobians get all their eigenvalues; larger ones a power iteration
POWER_ITERATIONS = 30


class StabilityCheck:
    """The check on every (member, interval) of the NLP's points; its function is built on first use."""

    def __init__(self, nlp: TranscribedNLP) -> None:
        self.nlp = nlp
        self.integrator = nlp.method.integrator
        self._function: ca.Function | None = None

    @property
    def needed(self) -> bool:
        return bool(self.nlp.step_inputs)

    @property
    def collocation(self) -> bool:
        return bool(self.nlp.layout.stages.size)

    @property
    def implicit(self) -> bool:  # and solved by Newton inside the NLP's functions (not collocation's)
        return not math.isfinite(self.integrator.stability_bound) and not self.collocation

    def skipped(self) -> StabilityReport:
        return StabilityReport(self.integrator.name, self.integrator.steps, skipped="no shooting intervals")

    def run(self, w_guess: np.ndarray, w_solution: np.ndarray, p: np.ndarray) -> StabilityReport:
        """The report; for direct collocation only h rho, which `resolution.py` completes (stable None)."""
        name, steps = self.integrator.name, self.integrator.steps
        at_guess, _, _ = self._largest(w_guess, p)
        at_solution, member, interval = self._largest(w_solution, p)
        if self.collocation:
            method = self.nlp.method
            name = f"collocation {method.degree} {method.scheme}"
            return StabilityReport(name, 1, float("nan"), at_guess, at_solution, member, interval, None)
        if self.implicit:  # a rough guess may need more iterations: only the solution counts
            stable = bool(at_solution <= NEWTON_TOLERANCE)  # False for NaN
            advice = "" if stable else newton_advice(name, self.integrator.newton, at_solution)
            nan = float("nan")
            return StabilityReport(
                name, steps, nan, nan, nan, member, interval, stable, advice, "", at_guess, at_solution
            )
        bound = self.integrator.stability_bound
        stable = bool(at_guess <= bound and at_solution <= bound)  # False for NaN
        reached = (
            float(np.max([at_guess, at_solution])) if stable or np.isfinite([at_guess, at_solution]).all() else math.inf
        )
        advice = "" if stable else step_advice(name, steps, reached, bound)
        return StabilityReport(name, steps, bound, at_guess, at_solution, member, interval, stable, advice)

    def _largest(self, w: np.ndarray, p: np.ndarray) -> tuple[float, int, int]:
        """(the largest value, its member, its interval) at the NLP point w: h rho, or the Newton residual."""
        N = self.nlp.problem.N
        values = self._values(np.asarray(w).ravel(), p)
        if not np.all(np.isfinite(values)):  # NaN in the report (None in JSON): not finite, not stable
            return float("nan"), -1, -1
        at = int(np.argmax(values))
        return float(values[at]), at % N, at // N

    def _values(self, w: np.ndarray, p: np.ndarray) -> np.ndarray:
        """(K N,) per member and interval, interval k's members at k N ... (k + 1) N - 1."""
        if self._function is None:
            self._function = per_interval_function(
                self.nlp, "stability", self._newton_residual if self.implicit else self._scaled_jacobian
            )
        out = np.asarray(self._function(w, p))
        if self.implicit:
            return out.ravel()
        nx = self.nlp.problem.nx
        return spectral_radii(out.T.reshape(-1, nx, nx).transpose(0, 2, 1))  # CasADi's vec is column-major

    def _scaled_jacobian(self, x, u, p, t, T, d, h) -> ca.SX:
        return ca.vec(ca.jacobian(self.nlp.problem.dynamics, x)) * (h / self.integrator.steps)

    def _newton_residual(self, x, u, p, t, T, d, h) -> ca.SX:
        f = dynamics_function(self.nlp.problem)
        return self.integrator.newton_residual(lambda z, tau: f(z, u, p, tau, T, d), x, t, h)


def step_advice(name: str, steps: int, reached: float, bound: float) -> str:
    if not math.isfinite(reached):
        return f"{name}: df/dx is not finite at the guess or the solution; the integration cannot be trusted"
    enough = math.ceil(steps * reached / bound)
    return (
        f"{name} with {steps} step(s) per interval is outside its stability region: h x the spectral radius "
        f"of df/dx reaches {reached:.3g} against {bound:.3g}; the optimum may belong to the unstable "
        f"discretisation, not to the ODE. Use at least {enough} steps per interval (integrator steps), "
        "an implicit integrator (radau, gauss_legendre) or a finer grid"
    )


def newton_advice(name: str, newton: int, residual: float) -> str:
    return (
        f"{name}: the {newton} Newton iterations per step left a stage residual of {residual:.3g} at the "
        f"solution (converged: <= {NEWTON_TOLERANCE:g}); the NLP then optimises the truncated iteration, "
        "not the implicit method. Raise the iterations (newton=...) or the steps per interval"
    )


def spectral_radii(matrices: np.ndarray) -> np.ndarray:
    """(M,) the spectral radius of each of (M, n, n) matrices: exact for n <= EXACT_UP_TO, else a power
    iteration (the growth of ||A v|| after POWER_ITERATIONS steps: converges to it for a dominant
    eigenvalue, from below)."""
    if matrices.shape[1] <= EXACT_UP_TO:
        return np.max(np.abs(np.linalg.eigvals(matrices)), axis=1)
    v = np.random.default_rng(0).standard_normal(matrices.shape[:2])
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    growth = np.zeros(matrices.shape[0])
    for _ in range(POWER_ITERATIONS):
        v = np.einsum("mij,mj->mi", matrices, v)
        growth = np.linalg.norm(v, axis=1)
        v /= np.where(growth > 0, growth, 1.0)[:, None]
    return growth
