"""Solving a transcribed problem with IPOPT: build once, solve many times.

>>> solver = OCPSolver(problem, MultipleShooting(K=50))     # transcribe + build once
>>> sol = solver.solve(T=2.0)                                # new T: no rebuild
>>> sol2 = solver.solve(T=2.5, initial_guess=sol)           # warm start (primal and multipliers)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import casadi as ca
import numpy as np

from ocp.errors import ProblemError, SolveError
from ocp.nlp.fingerprint import nlp_key
from ocp.nlp.hessian import HessianChoice, lagrangian_hessian
from ocp.nlp.jacobian import block_jacobian
from ocp.nlp.layout import Layout, put, take
from ocp.nlp.parameters import data_parameters, sample_parameters
from ocp.nlp.simulation import parameter_values, parameter_vector, simulate
from ocp.nlp.transcription import TranscribedNLP, transcribe
from ocp.options import at_least, check_fields, positive
from ocp.problem.guess import InitialGuess, interpolate
from ocp.problem.method import DirectCollocation, MultipleShooting
from ocp.problem.problem import Problem
from ocp.solvers.allocator import retained_heap
from ocp.solvers.collocation_start import StageStart
from ocp.solvers.first_order import Descent, FirstOrderPhase, inapplicable_reason
from ocp.solvers.ipopt_options import check_ipopt_options
from ocp.solvers.maximum_principle import MaximumPrincipleCheck, costates
from ocp.solvers.optimality import OptimalityCheck
from ocp.solvers.records import FirstOrderReport, MaximumPrincipleReport, OptimalityReport, StabilityReport
from ocp.solvers.resolution import resolution_check
from ocp.solvers.slack_start import SlackStart
from ocp.solvers.solution import Solution
from ocp.solvers.stability import StabilityCheck
from ocp.solvers.status import Status
from ocp.solvers.stopping import StopWhen

log = logging.getLogger("ocp")
# why a solve by direct collocation skips the second-order check (`optimality.py`); `OCPSolver.check` runs it
COLLOCATION_CHECK = (
    "direct collocation: the check differentiates the condensed objective through the implicit method of the "
    "points, 12 s at K = 20 and 84 s at K = 50 on a 2-state LQR that IPOPT solves in 0.3 s; "
    "OCPSolver.check(solution) runs it on request (the maximum-principle check runs)"
)

ENSEMBLE_FIRST_ORDER = 200  # the default phase on ensembles (`benchmarks/README.md`, first-order start)


@dataclass(frozen=True)
class SolverOptions:
    """IPOPT settings. ``ipopt`` passes any IPOPT option through and wins over the rest.

    verbose : print IPOPT's per-iteration progress lines.
    expand : expand the NLP into one SX graph. Evaluation gets faster, but
        building the SX Hessian takes seconds for large batches (9 s against
        0.6 s at N = 200, K = 20) while IPOPT's linear algebra dominates the
        solve anyway, so it is off by default.
    first_order_iterations : L-BFGS-B iterations on the condensed objective
        before IPOPT, from a cold start (`first_order.py`; 0 turns it off).
        Skipped for warm starts and for problems with constraints other than
        boxes. None (the default): ENSEMBLE_FIRST_ORDER (200) on an ensemble
        of trajectories, 0 on a single trajectory: on learning problems the
        phase finds optima up to 10 times better, on classic single-trajectory
        OCPs it only cost time (1.4-3.1 x one solve for the same optimum,
        `benchmarks/first_order_single.py`).
    hessian : what IPOPT is given as the Hessian of the Lagrangian.
        "exact" (default): coloured per member (`hessian.py`); its cost grows
        with the number of free parameters, every one of which couples with
        every state (a network's weights shared by all intervals: about one
        gradient evaluation per weight, 14 s per iteration for 354 weights
        on 4 x 75 nodes). "gauss_newton": the Hessian of the objective alone,
        without the dynamics' curvature, Bock's generalised Gauss-Newton for
        least-squares fits whose residuals are linear in the node states
        (`ocp.SampledCost` fits): cheap, convergence linear at a rate set by
        the residuals. "limited_memory": IPOPT's quasi-Newton approximation.
    """

    max_iter: int = at_least(0, 3000)  # 0: IPOPT only evaluates the start (a KKT check of a given point)
    tol: float = positive(1e-8)
    verbose: bool = False
    expand: bool = False
    linear_solver: str = "mumps"
    first_order_iterations: int | None = at_least(0, None)
    check_optimality: bool = True
    hessian: HessianChoice = "exact"
    ipopt: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_fields(self, "solver")
        if not isinstance(self.ipopt, Mapping):
            raise ProblemError(f"ipopt must be a mapping of IPOPT options, got {self.ipopt!r}")
        check_ipopt_options(self.ipopt)

    def first_order_for(self, problem: Problem) -> int:
        """The phase's iterations on ``problem``: the option, or by default 200 on an ensemble, 0 on one
        trajectory."""
        if self.first_order_iterations is not None:
            return self.first_order_iterations
        return ENSEMBLE_FIRST_ORDER if problem.N > 1 else 0

    def casadi_options(self, warm_start: bool = False) -> dict[str, Any]:
        ipopt = {
            "max_iter": self.max_iter,
            "tol": self.tol,
            "print_level": 5 if self.verbose else 0,
            "sb": "yes",
            "linear_solver": self.linear_solver,
        }
        if self.hessian == "limited_memory":
            ipopt["hessian_approximation"] = "limited-memory"
        if warm_start:
            ipopt |= {
                "warm_start_init_point": "yes",
                "warm_start_bound_push": 1e-9,
                "warm_start_mult_bound_push": 1e-9,
                "mu_init": 1e-6,
            }
        ipopt |= dict(self.ipopt)
        return {"ipopt": ipopt, "print_time": False, "error_on_fail": False}


def nlp_parameters(problem: Problem, parameters: Mapping[str, Any], T: float | None, data) -> np.ndarray:
    """The NLP parameter vector p = [fixed parameters; T (if fixed); per-member data; samples]
    (`transcription.py`)."""
    fixed = parameter_vector(problem, parameters, which="fixed")  # also rejects unknown names
    horizon = [] if problem.horizon.free else [problem.horizon.T if T is None else float(T)]
    if horizon and not horizon[0] > 0:
        raise ProblemError(f"horizon T must be > 0, got {horizon[0]}")
    return np.concatenate([fixed, horizon, data_parameters(problem, data), sample_parameters(problem)])


def box_bounds(problem: Problem, layout: Layout, x0: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the decision vector ``layout`` describes: free parameters, a free T,
    state and control bounds, and X_0 fixed to ``x0`` (None: X_0 free within the state bounds)."""
    lbx, ubx = np.full(layout.size, -np.inf), np.full(layout.size, np.inf)
    lbx[layout.free_parameters], ubx[layout.free_parameters] = problem.free_parameter_bounds()
    if problem.horizon.free:
        lbx[layout.horizon], ubx[layout.horizon] = problem.horizon.lb, problem.horizon.ub
    state_lb, state_ub = problem.state_bounds.arrays(problem.nx, "state_bounds")
    put(lbx, layout.states, state_lb)
    put(ubx, layout.states, state_ub)
    control_lb, control_ub = problem.control_bounds.arrays(problem.nu, "control_bounds")
    put(lbx, layout.controls, control_lb)
    put(ubx, layout.controls, control_ub)
    if x0 is not None:
        put(lbx, layout.states[0], x0)
        put(ubx, layout.states[0], x0)
    return lbx, ubx


class OCPSolver:
    """A problem transcribed and handed to IPOPT once, solvable many times.

    Fixed parameters, a fixed T, initial states and ensemble data are set per
    ``solve`` call without rebuilding.
    """

    def __init__(
        self,
        problem: Problem,
        method: MultipleShooting | None = None,
        options: SolverOptions | None = None,
        stop_when: Callable[[], bool] | None = None,
    ):
        """``stop_when`` is asked at every IPOPT iteration; when it returns True
        the solve stops with status User_Requested_Stop (`stopping.py`)."""
        start = time.perf_counter()
        self.problem = problem
        self.method = method or MultipleShooting()
        self.options = options or SolverOptions()
        self.nlp: TranscribedNLP = transcribe(problem, self.method)
        self.nlp_key = nlp_key(problem, self.method)  # which solutions warm-start this NLP
        fn = ca.Function("nlp", [self.nlp.w, self.nlp.p], [self.nlp.f, self.nlp.g], ["x", "p"], ["f", "g"])
        terms = ca.Function("terms", [self.nlp.w, self.nlp.p], [self.nlp.terms])
        self._nlp_function = fn.expand() if self.options.expand else fn
        self._terms = terms.expand() if self.options.expand else terms
        hessian = lagrangian_hessian(self.nlp, self.options.hessian)  # None: CasADi's own, or none
        self._hessian = hessian.expand() if hessian is not None and self.options.expand else hessian
        self._jacobian = block_jacobian(self.nlp)  # None: CasADi's own
        self._solvers: dict[bool, ca.Function] = {}
        self._stop_when = None
        if stop_when is not None:  # kept here: CasADi holds only a reference to the callback
            w, g, p = self.nlp.w, self.nlp.g, self.nlp.p
            self._stop_when = StopWhen(w.numel(), g.numel(), p.numel(), stop_when)
        self._solver(warm_start=False)
        self._phase: FirstOrderPhase | None = None  # the condensed objective: first-order start and check
        if self.options.first_order_for(problem) > 0 or self.options.check_optimality:
            self._condensed_phase()
        self._optimality: OptimalityCheck | None = None
        self._maximum_principle: MaximumPrincipleCheck | None = None
        self._stability = StabilityCheck(self.nlp)
        self._stage_start = StageStart(self.nlp, self.method)  # direct collocation's start at its points
        self._slack_start = SlackStart(self.nlp)  # the L1 slacks at |e|
        self._warned_unstable = False  # the warning is said once per build, not at every solve of a search
        self._reference_steps: dict[int, ca.Function] = {}  # the resolution check's RK4 steps, built once
        if self.options.check_optimality and not isinstance(self.method, DirectCollocation):
            self._optimality_check()
        self.build_time_s = time.perf_counter() - start

    def _condensed_phase(self) -> FirstOrderPhase:
        if self._phase is None:
            self._phase = FirstOrderPhase(self.problem, self.method, self.nlp.layout, self.options.expand)
        return self._phase

    def _optimality_check(self) -> OptimalityCheck:
        if self._optimality is None:
            self._optimality = OptimalityCheck(self._condensed_phase())
        return self._optimality

    def _solver(self, warm_start: bool) -> ca.Function:
        # IPOPT options are fixed per CasADi solver object, so a warm start gets its own (built lazily).
        if warm_start not in self._solvers:
            options = self.options.casadi_options(warm_start)
            if self._hessian is not None:
                options["hess_lag"] = self._hessian
            if self._jacobian is not None:
                options["jac_g"] = self._jacobian
            if self._stop_when is not None:
                options["iteration_callback"] = self._stop_when
            self._solvers[warm_start] = ca.nlpsol(
                "ipopt_warm" if warm_start else "ipopt", "ipopt", self._nlp_function, options
            )
        return self._solvers[warm_start]

    # --- numeric pieces of one solve ---------------------------------------
    def _nlp_parameters(self, parameters, T, data) -> np.ndarray:
        return nlp_parameters(self.problem, parameters, T, data)

    def _bounds(self, initial_state) -> tuple[np.ndarray, np.ndarray]:
        return box_bounds(self.problem, self.nlp.layout, self.problem.initial_states(initial_state))

    def _start(self, guess: InitialGuess, parameters, T, initial_state, data) -> np.ndarray:
        problem, layout, K = self.problem, self.nlp.layout, self.method.K
        w0 = np.zeros(layout.size)
        free_values = {**{p.name: p.guess for p in problem.free_parameters}, **dict(guess.free_parameters)}
        w0[layout.free_parameters] = parameter_vector(problem, {**parameters, **free_values}, which="free")
        w0[layout.horizon] = guess.T or (problem.horizon.T if T is None else float(T))
        controls = guess.controls_array(K, problem.nu, problem.control_guess)
        put(w0, layout.controls, controls)
        if guess.states is not None:
            put(w0, layout.states, guess.states_array(K, problem.N, problem.nx).transpose(1, 0, 2))
            return self._completed(w0, parameters, T, data)
        return self._with_simulated_states(w0, parameters, T, initial_state, data)

    def _completed(self, w: np.ndarray, parameters, T, data) -> np.ndarray:
        """w with what a guess does not name filled in from its states and controls: direct collocation's
        values at its points (`collocation_start.py`) and the L1 slacks (`slack_start.py`). Without
        either, the NLP parameters are not even packed."""
        layout = self.nlp.layout
        if not layout.stages.size and not layout.slacks.size:
            return w
        p = self._nlp_parameters(parameters, T, data)
        return self._slack_start.fill(self._stage_start.fill(w, p), p)

    def _horizon(self, w: np.ndarray, T: float | None) -> float:
        if self.problem.horizon.free:
            return float(w[self.nlp.layout.horizon][0])
        return self.problem.horizon.T if T is None else float(T)

    def _with_simulated_states(self, w0: np.ndarray, parameters, T, initial_state, data) -> np.ndarray:
        """w0 with its states replaced by a forward simulation of its controls, so the start is feasible."""
        problem, layout = self.problem, self.nlp.layout
        x0 = problem.initial_states(initial_state)
        if x0 is None:
            x0 = np.broadcast_to(np.asarray(problem.state_guess, float), (problem.N, problem.nx))
        states = simulate(
            problem,
            self.method,
            take(w0, layout.controls),
            initial_states=x0,
            T=self._horizon(w0, T),
            parameters={**parameters, **self._free_values(w0)},
            data=data,
            step=self.nlp.step,
        )
        if not np.all(np.isfinite(states)):
            states = np.broadcast_to(np.asarray(problem.state_guess, float), states.shape)
        w = w0.copy()
        put(w, layout.states, states.transpose(1, 0, 2))
        return self._completed(w, parameters, T, data)

    def warm_starts_from(self, solution: Solution) -> bool:
        """Whether ``solution`` came from this NLP (equal `nlp_key`): its primal point and multipliers
        then start IPOPT as they are; any other solution is interpolated onto this grid."""
        return solution.nlp_key == self.nlp_key and solution.primal.size == self.nlp.layout.size

    def _free_values(self, w: np.ndarray) -> dict[str, np.ndarray]:
        return parameter_values(self.problem, w[self.nlp.layout.free_parameters], which="free")

    # --- the public call ----------------------------------------------------
    def solve(
        self,
        *,
        parameters: Mapping[str, Any] | None = None,
        T: float | None = None,
        initial_state: np.ndarray | None = None,
        data: np.ndarray | None = None,
        initial_guess: InitialGuess | Solution | None = None,
        first_order_iterations: int | None = None,
        descent: Descent | None = None,
        check_optimality: bool | None = None,
    ) -> Solution:
        """Solve once. ``parameters`` sets fixed parameters by name; ``T`` a fixed
        horizon; ``initial_state`` (N, nx) and ``data`` (N, nd) replace the
        problem's. A `Solution` of the same shape as ``initial_guess`` warm-starts
        primal and multipliers; one of another grid is interpolated.
        ``first_order_iterations`` overrides the option for this call (0: IPOPT
        straight from the guess); ``descent`` is the phase's algorithm (default
        L-BFGS-B; ``Adam(learning_rate)`` runs that many Adam steps instead,
        `first_order.py`); ``check_optimality`` likewise (False for a
        solve that only makes the start of another)."""
        if initial_guess is not None and not isinstance(initial_guess, (InitialGuess, Solution)):
            raise ProblemError(
                "initial_guess must be an ocp.InitialGuess (e.g. InitialGuess(controls=U)) or a Solution, "
                f"got {type(initial_guess).__name__}"
            )
        default = self.options.first_order_for(self.problem)
        iterations = default if first_order_iterations is None else first_order_iterations
        if iterations < 0:
            raise ProblemError(f"first_order_iterations must be >= 0, got {iterations}")
        parameters = dict(parameters or {})
        p = self._nlp_parameters(parameters, T, data)
        lbx, ubx = self._bounds(initial_state)
        args: dict[str, Any] = {"p": p, "lbx": lbx, "ubx": ubx, "lbg": self.nlp.lbg, "ubg": self.nlp.ubg}
        warm = isinstance(initial_guess, Solution) and self.warm_starts_from(initial_guess)
        if warm:
            args |= {
                "x0": initial_guess.primal,
                "lam_x0": initial_guess.multipliers_x,
                "lam_g0": initial_guess.multipliers_g,
            }
        start = time.perf_counter()
        off = "turned off (first_order_iterations = 0)"
        if first_order_iterations is None and self.options.first_order_iterations is None and default == 0:
            # a reason that holds whatever the setting comes first
            off = inapplicable_reason(self.problem) or (
                "a single trajectory (by default the phase runs on ensembles; set first_order_iterations)"
            )
        first_order = FirstOrderReport(skipped="warm start" if warm else off)
        phase = self._condensed_phase() if iterations > 0 and not warm else None
        if not warm:
            if isinstance(initial_guess, Solution):
                initial_guess = interpolate(initial_guess, self.method.normalised_grid())
            args["x0"] = self._start(initial_guess or InitialGuess(), parameters, T, initial_state, data)
            if phase is not None:
                args["x0"], first_order = phase.run(args["x0"], lbx, ubx, p, iterations, self.options.verbose, descent)
                if first_order.iterations:
                    args["x0"] = self._with_simulated_states(args["x0"], parameters, T, initial_state, data)
        solver = self._solver(warm_start=warm)
        try:
            with retained_heap():
                result = solver(**args)
        except RuntimeError as err:
            raise SolveError(f"IPOPT failed before producing an iterate: {err}") from err
        solve_time = time.perf_counter() - start
        optimality = OptimalityReport(skipped="turned off (check_optimality = false)")
        certificate = MaximumPrincipleReport(skipped="turned off (check_optimality = false)")
        w = np.asarray(result["x"]).ravel()
        if self.options.check_optimality if check_optimality is None else check_optimality:
            if isinstance(self.method, DirectCollocation):
                optimality = OptimalityReport(skipped=COLLOCATION_CHECK)
            else:
                optimality = self._optimality_check().run(w, args["lbx"], args["ubx"], p)
            certificate = self._certificate(w, p, np.asarray(result["lam_g"]).ravel())
        stability = self._stability.run(args["x0"], w, p) if self._stability.needed else self._stability.skipped()
        solution = self._solution(
            result, args, solver.stats(), p, solve_time, first_order, optimality, certificate, stability
        )
        if isinstance(self.method, DirectCollocation):
            solution = replace(
                solution,
                stability=resolution_check(self.problem, self.method, solution, data, self._reference_steps),
            )
        self._warn_once(solution.stability)
        return solution

    def _warn_once(self, report: StabilityReport) -> None:
        """The integrator check's advice (`stability.py`, `resolution.py`), said once per build."""
        if report.stable is False and not self._warned_unstable:
            self._warned_unstable = True
            log.warning(report.advice)

    def check(
        self, solution: Solution, *, initial_state: np.ndarray | None = None, data: np.ndarray | None = None
    ) -> OptimalityReport:
        """The optimality check (`optimality.py`) of a solution of this problem, e.g. the one a
        multi-start keeps; ``initial_state`` and ``data`` as given to the ``solve`` that made it."""
        if solution.primal.size != self.nlp.layout.size:
            raise ProblemError(
                f"check: the solution has {solution.primal.size} variables, this NLP {self.nlp.layout.size}"
            )
        p = self._nlp_parameters(dict(solution.parameters), solution.T, data)
        lbx, ubx = self._bounds(initial_state)
        return self._optimality_check().run(solution.primal, lbx, ubx, p)

    def certify(self, solution: Solution, *, data: np.ndarray | None = None) -> MaximumPrincipleReport:
        """The maximum principle (`maximum_principle.py`) at a solution this NLP produced, from its
        multipliers (e.g. the one a multi-start keeps)."""
        if not self.warm_starts_from(solution):
            return MaximumPrincipleReport(skipped="the solution's multipliers are not of this NLP")
        p = self._nlp_parameters(dict(solution.parameters), solution.T, data)
        return self._certificate(solution.primal, p, solution.multipliers_g)

    def _certificate(self, w: np.ndarray, p: np.ndarray, multipliers_g: np.ndarray) -> MaximumPrincipleReport:
        if self._maximum_principle is None:
            self._maximum_principle = MaximumPrincipleCheck(self.nlp, self._condensed_phase())
        steps = self._horizon_of(w, p) * np.diff(self.method.normalised_grid())
        return self._maximum_principle.run(w, p, multipliers_g, steps)

    def _horizon_of(self, w: np.ndarray, p: np.ndarray) -> float:
        """T of a solve: a variable of the NLP when free, else the NLP parameter after the fixed ones."""
        return self._horizon(w, None if self.problem.horizon.free else p[self.problem.fixed_parameter_size()])

    def _solution(
        self,
        result,
        args,
        stats,
        p,
        solve_time,
        first_order: FirstOrderReport,
        optimality: OptimalityReport,
        certificate: MaximumPrincipleReport,
        stability: StabilityReport,
    ) -> Solution:
        problem, layout = self.problem, self.nlp.layout
        w = np.asarray(result["x"]).ravel()
        g = np.asarray(result["g"]).ravel()
        violation = max(
            0.0,
            float(np.max(args["lbg"] - g, initial=0.0)),
            float(np.max(g - args["ubg"], initial=0.0)),
            float(np.max(args["lbx"] - w, initial=0.0)),
            float(np.max(w - args["ubx"], initial=0.0)),
        )
        terms = np.asarray(self._terms(w, p)).ravel()
        T = self._horizon_of(w, p)
        status = Status(stats.get("return_status", "unknown"))
        free, fixed = self._free_values(w), parameter_values(problem, p, which="fixed")
        return Solution(
            t=T * self.method.normalised_grid(),
            states=take(w, layout.states).transpose(1, 0, 2),
            controls=take(w, layout.controls),
            T=T,
            costs=dict(zip(self.nlp.term_names, terms.tolist(), strict=True)),
            objective=float(result["f"]),
            constraint_violation=violation,
            status=status,
            message=status.message,
            success=status.success,
            iterations=int(stats.get("iter_count", 0)),
            build_time_s=self.build_time_s,
            solve_time_s=solve_time,
            free_parameters=free,
            parameters=fixed,
            primal=w,
            multipliers_x=np.asarray(result["lam_x"]).ravel(),
            multipliers_g=np.asarray(result["lam_g"]).ravel(),
            costates=costates(self.nlp, np.asarray(result["lam_g"]).ravel(), np.asarray(result["lam_x"]).ravel()),
            timings={k: float(v) for k, v in stats.items() if k.startswith("t_wall_")},
            first_order=first_order,
            optimality=optimality,
            maximum_principle=certificate,
            stability=stability,
            nlp_key=self.nlp_key,
            collocation_states=take(w, layout.stages).transpose(2, 0, 1, 3) if layout.stages.size else np.zeros(0),
            collocation_points=self.method.points() if layout.stages.size else np.zeros(0),
            collocation_elements=self.method.steps if layout.stages.size else 1,
        )


def solve(
    problem: Problem,
    method: MultipleShooting | None = None,
    options: SolverOptions | None = None,
    *,
    initial_guess: InitialGuess | Solution | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> Solution:
    """Transcribe ``problem`` with ``method`` and solve it with IPOPT once.

    To solve the same problem for several T, parameter values or data, build
    an `OCPSolver` once and call its ``solve`` instead.
    """
    return OCPSolver(problem, method, options).solve(initial_guess=initial_guess, parameters=parameters)
