"""Lifted Gauss-Newton: least-squares fits with thousands of shared parameters (``solver: gauss_newton``).

A fit of a network's weights theta to sampled trajectories is a multiple-shooting NLP whose objective is
quadratic (squared errors at the nodes plus lambda ||theta||^2) and whose only constraints are the gaps
x_{k+1} = F(x_k, theta). IPOPT's Newton steps need the Lagrangian's Hessian, whose theta block is a sum over
every interval of the network's curvature: with 4482 weights an iteration takes minutes, and IPOPT's sparse
factorisation of a Jacobian with dense theta columns is no faster with a quasi-Newton Hessian
(docs/timeseries.md, "Large networks"). This solver instead takes the constrained (generalised) Gauss-Newton
step of Bock's parameter estimation: the objective's own Hessian and the linearised gaps, solved by condensing
each member and a dense Schur complement in theta (`schur.py`). Its cost per iteration is one first
derivative of every step and matrix products of nx p^2 per node, and it converges linearly at a rate set by
the size of the residuals: fast on fits that reach the noise level.

Globalisation: Levenberg-Marquardt damping mu on (x_b0, theta) and a step fraction, accepted on the ratio of
the actual to the predicted decrease of the l1 merit f + nu ||gaps||_1 (nu above twice the largest costate),
`GaussNewton._search`. Convergence: the
Lagrangian's gradient (costates from the backward recursion, `Linearisation.stationarity`) and the gaps both
below ``tol``; a step that no damping makes a decrease ends the run at its last point.

Applies to problems without controls, running costs, L1 costs, constraints or finite bounds (other than fixed
initial states), with a fixed horizon, equal interval sizes and an objective quadratic in the variables whose
Hessian couples no two nodes. Others are refused with the reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import casadi as ca
import numpy as np
import scipy.sparse

from ocp.errors import ProblemError
from ocp.nlp.functions import batch
from ocp.nlp.jacobian import step_derivatives
from ocp.nlp.layout import put, take
from ocp.nlp.simulation import parameter_values, parameter_vector, simulate
from ocp.nlp.transcription import transcribe
from ocp.problem.guess import InitialGuess, interpolate
from ocp.problem.method import DirectCollocation, MultipleShooting
from ocp.problem.problem import Problem
from ocp.solvers.ipopt import SolverOptions, nlp_parameters
from ocp.solvers.records import OptimalityReport, TrainingRecord
from ocp.solvers.schur import Condensed, Linearisation
from ocp.solvers.solution import Solution
from ocp.solvers.status import Status

log = logging.getLogger("ocp")

MU_GROWTH = 4.0  # damping x this after a rejected step
MAX_REJECTIONS = 30  # in a row: no damping gives a decrease; the point is as good as the merit can tell
ACCEPT = 1e-4  # the smallest ratio of actual to predicted merit decrease that accepts a step
GAP_FIT_ITERATIONS = 20  # at most, for the start's weights (`GaussNewton._fit_gaps`)
GAP_FIT_PROGRESS = 0.05  # it stops when an iteration lowers the gaps' sum of squares by less than this share


def inapplicable_reason(problem: Problem, method: MultipleShooting) -> str:
    """Why the lifted Gauss-Newton step does not apply to ``problem`` ('' when it does)."""
    if isinstance(method, DirectCollocation):
        return "it runs on multiple shooting (method: collocation has its own equations)"
    if problem.nu:
        return "the problem has controls (the solver fits free parameters and states only)"
    if problem.running_costs or problem.l1_costs:
        return "the problem has running or L1 costs (it needs a quadratic objective at the nodes)"
    if problem.path_constraints or problem.initial_constraints or problem.final_constraints:
        return "the problem has path, initial or final constraints"
    if problem.horizon.free:
        return "the final time is free"
    if problem.interval_sizes is not None:
        return "the state's size changes between intervals"
    lb, ub = problem.state_bounds.arrays(problem.nx, "state_bounds")
    free_lb, free_ub = problem.free_parameter_bounds()
    if np.any(np.isfinite(np.concatenate([lb, ub, free_lb, free_ub]))):
        return "the problem has finite bounds on states or free parameters"
    if not problem.free_parameters:
        return "the problem has no free parameters to fit"
    return ""


class GaussNewton:
    """The lifted Gauss-Newton solver of a least-squares fit (module docstring), built once; `solve` runs it
    (the `Solver` contract of `contract.py`). ``options``: `SolverOptions`' max_iter, tol and verbose."""

    def __init__(self, problem: Problem, method: MultipleShooting | None = None, options: SolverOptions | None = None):
        method = method or MultipleShooting()
        reason = inapplicable_reason(problem, method)
        if reason:
            raise ProblemError(f"solver gauss_newton cannot solve this problem: {reason}")
        start = time.perf_counter()
        self.problem, self.method, self.options = problem, method, options or SolverOptions()
        nlp = transcribe(problem, method)
        self.nlp = nlp
        layout = nlp.layout
        if nlp.g.numel() != method.K * problem.N * problem.nx or layout.size != layout.states.size + len(
            layout.free_parameters
        ):
            raise ProblemError("solver gauss_newton cannot solve this problem: it has variables beside states and θ")
        # The objective holds no dynamics: expanded to SX, a quadratic's Hessian is free of w (MX would keep it)
        objective = ca.Function("objective", [nlp.w, nlp.p], [nlp.f]).expand()
        w, p = ca.SX.sym("w", nlp.w.sparsity()), ca.SX.sym("p", nlp.p.sparsity())
        hessian, gradient = ca.hessian(objective(w, p), w)
        if ca.depends_on(hessian, w):
            raise ProblemError("solver gauss_newton cannot solve this problem: its objective is not quadratic")
        self._objective = ca.Function("gn_objective", [w, p], [objective(w, p), gradient])
        self._hessian = ca.Function("gn_hessian", [p], [hessian])
        self._gaps = ca.Function("gn_gaps", [nlp.w, nlp.p], [nlp.g])
        self._terms = ca.Function("gn_terms", [nlp.w, nlp.p], [nlp.terms])
        n_free = layout.free_parameters.size
        self._derivatives = batch(
            _row_major_derivatives(nlp, n_free), problem.N, method.parallelization, member_inputs=("x0", "d")
        )
        flat = [value for inputs in nlp.step_inputs for value in inputs] + [nlp.T]
        self._step_inputs = ca.Function("gn_step_inputs", [nlp.w, nlp.p], flat)
        self._check_pattern(hessian.sparsity())
        self.build_time_s = time.perf_counter() - start

    def _check_pattern(self, sparsity: ca.Sparsity) -> None:
        """The Hessian must couple no two nodes and no node with a free parameter (the `schur.py` form)."""
        layout = self.nlp.layout
        owner = np.full(layout.size, -1)  # the node (k * N + b) of each state variable; -1: free parameters
        K1, N, _ = layout.states.shape
        owner[layout.states.reshape(-1, layout.states.shape[2])] = np.arange(K1 * N)[:, None]
        rows, cols = (np.asarray(a) for a in sparsity.get_triplet())
        if np.any(owner[rows] != owner[cols]):
            raise ProblemError(
                "solver gauss_newton cannot solve this problem: its objective couples different nodes' states"
            )

    # --- one solve ----------------------------------------------------------------
    def solve(
        self,
        *,
        parameters: Mapping[str, Any] | None = None,
        T: float | None = None,
        initial_guess: InitialGuess | Solution | None = None,
        initial_state: np.ndarray | None = None,
        data: np.ndarray | None = None,
        callback: Callable[[int, float, Mapping[str, np.ndarray], np.ndarray], bool | None] | None = None,
    ) -> Solution:
        """Lifted Gauss-Newton from ``initial_guess``; ``callback(iteration, objective, free parameters,
        states (N, K + 1, nx))`` after each accepted step (e.g. to follow a forecast's error). A callback
        that returns True stops the solve there, with status USER_REQUESTED_STOP (as Ctrl-C does)."""
        problem = self.problem
        parameters = dict(parameters or {})
        p = nlp_parameters(problem, parameters, T, data)
        x0 = problem.initial_states(initial_state)
        w = self._start(initial_guess, parameters, T, x0, data, p)
        H_x, H_theta = self._hessian_blocks(p)
        if np.min(np.linalg.eigvalsh(H_x), initial=0.0) < -1e-12 or np.min(np.linalg.eigvalsh(H_theta)) < -1e-12:
            raise ProblemError("solver gauss_newton: the objective is not convex in the node states and θ")
        begin = time.perf_counter()
        history: list[float] = []
        status, iterations, mu = Status.MAXIMUM_ITERATIONS_EXCEEDED, 0, None
        stationarity = primal = float("nan")
        try:
            if x0 is None or initial_guess is not None:
                w = self._fit_gaps(w, p, begin)
            f, lin = self._linearise(w, p, H_x, H_theta, x0 is None)
            history.append(f)
            while True:
                stationarity, lam = lin.stationarity()
                primal = float(np.max(np.abs(lin.gaps), initial=0.0))
                self._progress(iterations, f, stationarity, primal, mu, begin)
                if stationarity <= self.options.tol and primal <= self.options.tol:
                    status = Status.SOLVE_SUCCEEDED
                    break
                if iterations >= self.options.max_iter:
                    break
                condensed = Condensed(lin)
                mu = 1e-8 * condensed.scale if mu is None else mu
                # the penalty of this iteration's merit: above the costates (not kept from earlier iterations,
                # whose larger gaps asked for more: a large penalty rejects full steps near the solution)
                nu = 2.0 * float(np.max(np.abs(lam), initial=0.0))
                trial, f, mu = self._search(w, p, f, lin, condensed, mu, nu)
                if trial is None:
                    status = Status.SEARCH_DIRECTION_BECOMES_TOO_SMALL
                    break
                w = trial
                iterations += 1
                f, lin = self._linearise(w, p, H_x, H_theta, x0 is None)
                history.append(f)
                if callback is not None:
                    free = parameter_values(problem, w[self.nlp.layout.free_parameters], which="free")
                    if callback(iterations, f, free, take(w, self.nlp.layout.states).transpose(1, 0, 2)):
                        status = Status.USER_REQUESTED_STOP
                        break
        except KeyboardInterrupt:
            status = Status.USER_REQUESTED_STOP  # the last accepted point is returned: nothing is lost
        solve_time = time.perf_counter() - begin
        return self._solution(w, p, status, iterations, solve_time, history, stationarity, primal)

    def _search(self, w, p, f, lin, condensed, mu, nu):
        """A step that decreases the merit f + nu ||gaps||_1: (the new point or None, its objective, mu).

        The step of damping mu is tried at fractions alpha = 1, 1/2, 1/4, 1/8 (Armijo on the model's
        decrease); if none decreases the merit, mu grows 4x. An accepted full step divides mu by 3, a partial
        one doubles it (Nielsen's ratio-based rule settled on too much damping on the Van der Pol fit)."""
        layout = self.nlp.layout
        gaps = float(np.sum(np.abs(lin.gaps)))
        for _ in range(MAX_REJECTIONS):
            try:
                step = condensed.step(mu)
            except np.linalg.LinAlgError:  # not positive definite in floating point: more damping
                mu *= MU_GROWTH
                continue
            if gaps > 0:  # a penalty under which the step descends: its predicted decrease >= nu ||gaps|| / 2
                nu = max(nu, 2.0 * (step.linear + 0.5 * step.curvature) / gaps)
            merit = f + nu * gaps
            for alpha in (1.0, 0.5, 0.25, 0.125):
                predicted = -(alpha * step.linear + 0.5 * alpha**2 * step.curvature) + alpha * nu * gaps
                trial = w.copy()
                trial[layout.states.transpose(1, 0, 2)] += alpha * step.dx
                trial[layout.free_parameters] += alpha * step.dtheta
                f_trial = self._objective_value(trial, p)
                actual = merit - (f_trial + nu * float(np.sum(np.abs(np.asarray(self._gaps(trial, p))))))
                if np.isfinite(actual) and predicted > 0 and actual >= ACCEPT * predicted:
                    if alpha == 1.0:
                        mu /= 3.0
                    else:
                        mu *= 2.0
                    return trial, f_trial, mu
            mu *= MU_GROWTH
        return None, f, mu

    def _fit_gaps(self, w: np.ndarray, p: np.ndarray, begin: float) -> np.ndarray:
        """θ fitted to close the gaps with the node states held at the guess (Levenberg-Marquardt on
        sum ||gaps||^2 / 2): from a guess of states at the data and random weights the gaps are large, and
        a Gauss-Newton step that must close them in one linearisation leaves the data far behind."""
        free = self.nlp.layout.free_parameters
        mu = None
        for iteration in range(GAP_FIT_ITERATIONS):
            _, B, gaps = self._step_jacobians(w, p)
            phi = 0.5 * float(np.sum(gaps**2))
            # B is a view of (K, N, nx, p) memory: rows in that order need no copy (1.4 GB at 4482 weights)
            rows, residuals = B.transpose(1, 0, 2, 3).reshape(-1, free.size), gaps.transpose(1, 0, 2).reshape(-1)
            normal, rhs = rows.T @ rows, rows.T @ residuals  # gaps(θ + d) ~ gaps - B d
            mu = 1e-6 * float(np.max(np.diagonal(normal), initial=1.0)) if mu is None else mu
            for _ in range(MAX_REJECTIONS):
                d = np.linalg.solve(normal + mu * np.eye(free.size), rhs)
                trial = w.copy()
                trial[free] += d
                phi_trial = 0.5 * float(np.sum(np.asarray(self._gaps(trial, p)) ** 2))
                if np.isfinite(phi_trial) and phi_trial < phi:
                    mu /= 3.0
                    break
                mu *= MU_GROWTH
            else:
                break
            log.info(
                f"  fitting the gaps {iteration:3d}  sum of squares {phi_trial:.3e}  "
                f"({time.perf_counter() - begin:.0f} s)"
            )
            w = trial
            if phi_trial > (1.0 - GAP_FIT_PROGRESS) * phi:
                break
        return w

    def _hessian_blocks(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The objective's constant Hessian as (N, K + 1, nx, nx) node blocks and the (p, p) θ block."""
        layout = self.nlp.layout
        hessian = ca.DM(self._hessian(p))
        rows, cols = (np.asarray(a) for a in hessian.sparsity().get_triplet())
        H = scipy.sparse.csr_matrix((np.asarray(hessian.nonzeros()), (rows, cols)), shape=hessian.shape)
        s = layout.states
        blocks = np.asarray(
            H[
                np.broadcast_to(s[..., :, None], s.shape + s.shape[-1:]).ravel(),
                np.broadcast_to(s[..., None, :], s.shape + s.shape[-1:]).ravel(),
            ]
        ).reshape(s.shape + s.shape[-1:])
        free = layout.free_parameters
        return blocks.transpose(1, 0, 2, 3), H[free][:, free].toarray()

    def _progress(self, iteration, f, stationarity, primal, mu, begin) -> None:
        if self.options.verbose or iteration % 5 == 0:
            damping = "" if mu is None else f"  damping {mu:.1e}"
            log.info(
                f"  gauss-newton {iteration:4d}  objective {f:.8e}  stationarity {stationarity:.1e}  "
                f"gaps {primal:.1e}{damping}  ({time.perf_counter() - begin:.0f} s)"
            )

    def _objective_value(self, w: np.ndarray, p: np.ndarray) -> float:
        return float(self._objective(w, p)[0])

    def _linearise(self, w, p, H_x, H_theta, free_start: bool) -> tuple[float, Linearisation]:
        """The objective and the `Linearisation` at ``w``: the step's Jacobians interval by interval."""
        layout = self.nlp.layout
        f, gradient = self._objective(w, p)
        gradient = np.asarray(gradient).ravel()
        A, B, gaps = self._step_jacobians(w, p)
        lin = Linearisation(
            A=A,
            B=B,
            gaps=gaps,
            grad_x=gradient[layout.states].transpose(1, 0, 2),
            grad_theta=gradient[layout.free_parameters],
            H_x=H_x,
            H_theta=H_theta,
            free_start=free_start,
        )
        return float(f), lin

    def _step_jacobians(self, w: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(A (N, K, nx, nx), B (N, K, nx, p), gaps (N, K, nx)): each step's Jacobians by its start state and
        by θ, interval by interval, and the gaps x_{k+1} - F(x_k, θ)."""
        problem, layout, K = self.problem, self.nlp.layout, self.method.K
        N, nx, n_free = problem.N, problem.nx, layout.free_parameters.size
        values = self._step_inputs(w, p)
        T = values[-1]
        # The batched function writes each member's Jacobians (row-major) straight into these arrays through
        # CasADi's buffer interface: converting its outputs to numpy took longer than computing them.
        d_x, d_free = np.empty((K, N, nx, nx)), np.empty((K, N, nx, n_free))
        buffer, evaluate = self._derivatives.buffer()
        for k in range(K):
            x_k, u_k, params_k, t_k, h_k, data_k = values[6 * k : 6 * k + 6]
            arguments = [self._buffered(i, value) for i, value in enumerate((x_k, u_k, params_k, t_k, h_k, T, data_k))]
            for i, value in enumerate(arguments):
                buffer.set_arg(i, memoryview(value))
            buffer.set_res(0, memoryview(d_x[k]))
            buffer.set_res(1, memoryview(d_free[k]))
            evaluate()
        A = d_x.transpose(1, 0, 2, 3)  # (N, K, nx, nx): views whose slices [:, k] are contiguous
        B = d_free.transpose(1, 0, 2, 3)  # (N, K, nx, p)
        gaps = np.asarray(self._gaps(w, p)).ravel()
        return A, B, gaps[layout.gaps[1:].transpose(1, 0, 2)]

    def _buffered(self, i: int, value: ca.DM) -> np.ndarray:
        """Input ``i`` of the batched derivatives as its buffer wants it: every column (``Function.map`` repeats
        a shared input per member), column-major."""
        rows, columns = self._derivatives.sparsity_in(i).shape
        if rows * columns == 0:
            return np.zeros(0)
        array = np.asarray(ca.DM(value).full(), dtype=float).reshape(rows, -1)
        return np.ascontiguousarray(np.broadcast_to(array, (rows, columns)).T)

    def _start(self, guess, parameters, T, x0, data, p) -> np.ndarray:
        """The guess's node states and free parameters; nodes it does not give are simulated."""
        problem, layout, K = self.problem, self.nlp.layout, self.method.K
        if isinstance(guess, Solution):
            guess = interpolate(guess, self.method.normalised_grid())
        guess = guess or InitialGuess()
        w = np.zeros(layout.size)
        free_values = {**{q.name: q.guess for q in problem.free_parameters}, **dict(guess.free_parameters)}
        w[layout.free_parameters] = parameter_vector(problem, {**parameters, **free_values}, which="free")
        if guess.states is not None:
            put(w, layout.states, guess.states_array(K, problem.N, problem.nx).transpose(1, 0, 2))
        else:
            if x0 is None:
                raise ProblemError("solver gauss_newton needs initial states or a guess of the states")
            free = parameter_values(problem, w[layout.free_parameters], which="free")
            states = simulate(
                problem,
                self.method,
                np.zeros((K, 0)),
                initial_states=x0,
                T=T,
                parameters={**parameters, **free},
                data=data,
                step=self.nlp.step,
            )
            put(w, layout.states, states.transpose(1, 0, 2))
        if x0 is not None:
            put(w, layout.states[0], x0)
        return w

    def _solution(self, w, p, status, iterations, solve_time, history, stationarity, primal) -> Solution:
        problem, layout = self.problem, self.nlp.layout
        terms = np.asarray(self._terms(w, p)).ravel().tolist()
        T = float(p[problem.fixed_parameter_size()])
        training = TrainingRecord(
            solver="gauss_newton",
            learning_rate=float("nan"),
            step_scaling="",
            clip=None,
            objective=history,
            recorded_iterations=[],
            recorded_costs=[],
        )
        return Solution(
            t=T * self.method.normalised_grid(),
            states=take(w, layout.states).transpose(1, 0, 2),
            controls=take(w, layout.controls),
            T=T,
            costs=dict(zip(self.nlp.term_names, terms, strict=True)),
            objective=history[-1] if history else float("nan"),
            constraint_violation=primal,
            status=status,
            message=status.message,
            success=status.success,
            iterations=iterations,
            build_time_s=self.build_time_s,
            solve_time_s=solve_time,
            free_parameters=parameter_values(problem, w[layout.free_parameters], which="free"),
            parameters=parameter_values(problem, p, which="fixed"),
            primal=w,
            optimality=OptimalityReport(
                stationarity=stationarity,
                skipped=f"gauss_newton: no second-order check (stationarity, the largest entry of the "
                f"Lagrangian's gradient, is {stationarity:.2e})",
            ),
            training=training,
        )


def _row_major_derivatives(nlp, n_free: int) -> ca.Function:
    """One member's step Jacobians by its start state and by θ (`jacobian.step_derivatives`), each vec'd row by
    row: batched over the members, interval k's output is then a C-ordered (N, nx, n) array."""
    derivatives = step_derivatives(nlp, n_free)
    inputs = [ca.SX.sym(derivatives.name_in(i), derivatives.sparsity_in(i)) for i in range(derivatives.n_in())]
    d_x, _, d_free, _ = derivatives(*inputs)
    nx = nlp.problem.nx
    rows = [ca.vec(ca.reshape(d_x, nx, nx).T), ca.vec(ca.reshape(d_free, nx, n_free).T)]
    return ca.Function("gn_step_derivatives", inputs, rows, derivatives.name_in(), ["d_x", "d_free"])
