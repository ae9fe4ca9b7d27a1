"""Direct collocation: this toolkit against rockit's DirectCollocation and a hand-written CasADi Opti
transcription, on the same problems, grid and IPOPT settings, side by side in one run.

    OMP_NUM_THREADS=1 python benchmarks/collocation_peers.py [--quick]

All three solve the same NLP up to the order of the variables and the scaling of the equations: K
equal intervals (free T: h = T / K), a constant control per interval, Radau IIA collocation of degree
DEGREE (the state a polynomial through the node and the DEGREE points, the ODE at the points),
continuity at the nodes, running costs by the collocation quadrature h sum_i B_i L(x(c_i), u_k), node
constraints at the K + 1 nodes. IPOPT: tol 1e-8, print level 0, MUMPS, exact Hessian, max_iter 3000.
Each tool starts from the same point: every state and collocation value 0, every control 0, T = 1
(the origin with u = 0 is an equilibrium of every system here, so each tool's way of filling the
collocation values from the guess gives the same start).

The first table: per row the median of REPEATS runs, each built from scratch. build is from the
symbols to a solver ready; rockit and Opti build their NLP solver (and rockit its transcription)
inside the solve call, so their build is the declaration only and the total is what to compare.
ratio: the total over rockit's (the baseline); rel. diff: the objective's against rockit's. The
toolkit runs with the optimality check and the first-order start off (`SolverOptions`), so it does
what the peers do. Then two checks of one run each: the peers with CasADi's default constraint
handling, and the minimum-time problem at two IPOPT tolerances. rockit is optional
(`pip install -e ".[bench]"`); without it the ratios are to the toolkit.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import casadi as ca
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ocp  # noqa: E402

DEGREE = 3
REPEATS = 3
KS = (20, 50, 100)
TOL = 1e-8
MAX_ITER = 3000
IPOPT = {"tol": TOL, "print_level": 0, "sb": "yes", "linear_solver": "mumps", "max_iter": MAX_ITER}
# The peers' NLP solver options. Opti (and so rockit) passes every constraint, bounds included, to IPOPT
# as a row of g; the toolkit gives bounds (controls, T, the fixed x(0)) as bounds on the variables.
# CasADi's detect_simple_bounds makes the peers' NLP the same: without it IPOPT takes another path
# (more iterations for the ensemble, `peer_defaults`).
PEER = {"print_time": False, "detect_simple_bounds": True}


@dataclass(frozen=True)
class Spec:
    """One problem in terms every tool can pose: B members x_b' = f(x_b, u) under one control u,
    minimise mean_b int state_cost(x_b) + int control_cost(u) + mean_b terminal_cost(x_b(T)), or T
    itself when ``T`` is None (free final time in T_BOUNDS)."""

    name: str
    nx: int
    nu: int
    f: Callable  # (x, u) -> (nx,) for one member, in casadi operations (SX and MX alike)
    x0: np.ndarray  # (B, nx)
    T: float | None
    state_cost: Callable | None = None
    control_cost: Callable | None = None
    terminal_cost: Callable | None = None
    x_final: tuple[float, ...] | None = None  # x_b(T) = x_final
    u_bounds: tuple[float, float] | None = None
    x_lower: tuple[float, ...] | None = None  # x_b(t_k) >= x_lower at the K + 1 nodes

    @property
    def B(self) -> int:
        return self.x0.shape[0]

    def members(self, x) -> list:
        """The B members' states in a stacked state of size nx B (how rockit and Opti pose the ensemble)."""
        return [x[b * self.nx : (b + 1) * self.nx] for b in range(self.B)]


T_BOUNDS, T_GUESS = (0.1, 10.0), 1.0
LQR_A = np.array([[0.0, 1.0], [-2.0, -0.5]])  # the LQR of tests/test_known_answers.py
LQR_B = np.array([[0.0], [1.0]])
LQR_Q, LQR_R, LQR_S = np.diag([1.0, 0.5]), 0.2, np.diag([2.0, 1.0])


def van_der_pol(x, u):
    return ca.vertcat((1 - x[1] ** 2) * x[0] - x[1] + u[0], x[0])


def problems() -> list[Spec]:
    ring = np.linspace(0.0, 2 * np.pi, 16, endpoint=False)
    return [
        Spec(
            name="min-time double integrator",
            nx=2,
            nu=1,
            f=lambda x, u: ca.vertcat(x[1], u[0]),
            x0=np.array([[1.0, 0.0]]),
            T=None,
            x_final=(0.0, 0.0),
            u_bounds=(-1.0, 1.0),
        ),
        Spec(
            name="LQR (T = 2)",
            nx=2,
            nu=1,
            f=lambda x, u: ca.mtimes(LQR_A, x) + ca.mtimes(LQR_B, u),
            x0=np.array([[1.0, -0.5]]),
            T=2.0,
            state_cost=lambda x: ca.bilin(LQR_Q, x, x),
            control_cost=lambda u: LQR_R * u[0] ** 2,
            terminal_cost=lambda x: ca.bilin(LQR_S, x, x),
        ),
        Spec(  # CasADi's direct_collocation_opti.py example
            name="Van der Pol (T = 10)",
            nx=2,
            nu=1,
            f=van_der_pol,
            x0=np.array([[0.0, 1.0]]),
            T=10.0,
            state_cost=lambda x: x[0] ** 2 + x[1] ** 2,
            control_cost=lambda u: u[0] ** 2,
            u_bounds=(-1.0, 1.0),
            x_lower=(-0.25, -np.inf),
        ),
        Spec(  # 16 starts on a circle around the example's (0, 1) under one control; a circle around 0
            # would not do: the dynamics are odd in (x, u), so u = 0 is stationary (a saddle there)
            name="Van der Pol ensemble (B = 16, T = 5)",
            nx=2,
            nu=1,
            f=van_der_pol,
            x0=np.stack([0.5 * np.cos(ring), 1.0 + 0.5 * np.sin(ring)], axis=1),
            T=5.0,
            state_cost=lambda x: x[0] ** 2 + x[1] ** 2,
            control_cost=lambda u: u[0] ** 2,
            u_bounds=(-1.0, 1.0),
        ),
    ]


def timed(build: Callable[[], object], solve: Callable[[object], dict]) -> dict:
    """build() then solve(built), each timed: the row of one run."""
    begin = time.perf_counter()
    built = build()
    middle = time.perf_counter()
    result = solve(built)
    return {"build": middle - begin, "solve": time.perf_counter() - middle, **result}


# --- the toolkit ---------------------------------------------------------------------------------


def toolkit_problem(spec: Spec) -> ocp.Problem:
    x, u = ca.SX.sym("x", spec.nx), ca.SX.sym("u", spec.nu)
    horizon = ocp.Horizon.fixed(spec.T) if spec.T is not None else ocp.Horizon.bounded(*T_BOUNDS, guess=T_GUESS)
    running = {}
    if spec.state_cost:
        running["state"] = spec.state_cost(x)  # per member: averaged over the ensemble (aggregate="mean")
    if spec.control_cost:
        running["effort"] = spec.control_cost(u)  # shared: counted once
    terminal = {"final": spec.terminal_cost(x)} if spec.terminal_cost else {}
    if spec.T is None:
        terminal["time"] = horizon.symbol
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=spec.f(x, u),
        horizon=horizon,
        initial_state=spec.x0,
        running_costs=running,
        terminal_costs=terminal,
        final_constraints=(ocp.Constraint.equal(x, list(spec.x_final)),) if spec.x_final else (),
        control_bounds=ocp.Bounds(*spec.u_bounds) if spec.u_bounds else ocp.Bounds(),
        state_bounds=ocp.Bounds(list(spec.x_lower), np.inf) if spec.x_lower else ocp.Bounds(),
    )


def solve_toolkit(spec: Spec, K: int, tol: float = TOL) -> dict:
    # the peers do neither: the optimality check after IPOPT and the first-order start (on by default
    # for ensembles) are turned off
    options = ocp.SolverOptions(
        tol=tol, max_iter=MAX_ITER, linear_solver="mumps", check_optimality=False, first_order_iterations=0
    )
    method = ocp.DirectCollocation(K=K, degree=DEGREE, scheme="radau")
    guess = ocp.InitialGuess(states=np.zeros(spec.nx), controls=np.zeros(spec.nu), T=T_GUESS)

    def solve(solver: ocp.OCPSolver) -> dict:
        sol = solver.solve(initial_guess=guess)
        return {"iterations": sol.iterations, "objective": sol.objective, "success": sol.success}

    return timed(lambda: ocp.OCPSolver(toolkit_problem(spec), method, options), solve)


# --- rockit --------------------------------------------------------------------------------------


def rockit_problem(spec: Spec, K: int, tol: float, peer: dict):
    import rockit

    problem = rockit.Ocp(T=rockit.FreeTime(T_GUESS) if spec.T is None else spec.T)
    # the B members stacked in one state: at B = 16, 3.5 times as fast as B states of size nx
    X, u = problem.state(spec.nx * spec.B), problem.control(spec.nu)
    xs = spec.members(X)
    problem.set_der(X, ca.vertcat(*[spec.f(x, u) for x in xs]))
    problem.subject_to(problem.at_t0(X) == spec.x0.ravel())
    problem.set_initial(X, np.zeros(spec.nx * spec.B))
    if spec.x_final:
        problem.subject_to(problem.at_tf(X) == np.tile(spec.x_final, spec.B))
    for i, lb in enumerate(np.tile(spec.x_lower or (), spec.B)):
        if np.isfinite(lb):
            problem.subject_to(X[i] >= lb)  # on the control grid: the K + 1 nodes
    problem.set_initial(u, np.zeros(spec.nu))
    if spec.u_bounds:
        # include_last=False: the last node has no control of its own (rockit would repeat U_{K-1})
        problem.subject_to(spec.u_bounds[0] <= (u <= spec.u_bounds[1]), include_last=False)
    if spec.T is None:
        problem.subject_to(T_BOUNDS[0] <= (problem.T <= T_BOUNDS[1]))
        problem.add_objective(problem.T)
    running = 0
    if spec.state_cost:
        running += sum(spec.state_cost(x) for x in xs) / spec.B
    if spec.control_cost:
        running += spec.control_cost(u)
    if spec.state_cost or spec.control_cost:
        problem.add_objective(problem.integral(running))  # grid "inf": by the collocation quadrature
    if spec.terminal_cost:
        problem.add_objective(sum(spec.terminal_cost(x) for x in spec.members(problem.at_tf(X))) / spec.B)
    problem.solver("ipopt", {**peer, "ipopt": {**IPOPT, "tol": tol}})
    problem.method(rockit.DirectCollocation(N=K, M=1, degree=DEGREE, scheme="radau"))
    return problem


def solve_rockit(spec: Spec, K: int, tol: float = TOL, peer: dict = PEER) -> dict:
    def solve(problem) -> dict:
        sol = problem.solve_limited()  # transcribes, builds the NLP solver, solves; no exception on failure
        stats = sol.stats
        objective = float(sol.sol.value(sol.sol.opti.f))
        return {"iterations": stats["iter_count"], "objective": objective, "success": bool(stats["success"])}

    return timed(lambda: rockit_problem(spec, K, tol, peer), solve)


# --- CasADi Opti, written by hand ----------------------------------------------------------------


def lagrange(points: list[float], j: int) -> np.poly1d:
    """The Lagrange polynomial that is 1 at points[j] and 0 at the other points."""
    basis = np.poly1d([1.0])
    for r, point in enumerate(points):
        if r != j:
            basis *= np.poly1d([1.0, -point]) / (points[j] - point)
    return basis


def collocation_coefficients(d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Lagrange basis on tau = [0, c_1 .. c_d] (Radau points), as in CasADi's direct_collocation_opti.py:
    C[j, i] basis j's derivative at c_i, D[j] its value at 1; and B[i] the weight of c_i in the Radau
    quadrature (the basis on c_1 .. c_d alone: the example's integral of the basis on tau is the same
    for d >= 2 but not for d = 1)."""
    c = list(ca.collocation_points(d, "radau"))
    tau = [0.0, *c]
    C = np.array([np.polyder(lagrange(tau, j))(c) for j in range(d + 1)])
    D = np.array([lagrange(tau, j)(1.0) for j in range(d + 1)])
    B = np.array([np.polyint(lagrange(c, i))(1.0) for i in range(d)])
    return C, D, B


def opti_model(spec: Spec) -> ca.Function:
    """(x of all B members stacked, u) -> (x', the running cost's integrand) as one SX function."""
    x, u = ca.SX.sym("x", spec.nx * spec.B), ca.SX.sym("u", spec.nu)
    members = spec.members(x)
    rate = ca.vertcat(*[spec.f(m, u) for m in members])
    running = ca.SX(0)
    if spec.state_cost:
        running += sum(spec.state_cost(m) for m in members) / spec.B
    if spec.control_cost:
        running += spec.control_cost(u)
    return ca.Function("model", [x, u], [rate, running])


def opti_intervals(opti: ca.Opti, spec: Spec, K: int, h) -> tuple[list, ca.MX]:
    """The K intervals from x(0) = x0: (the K + 1 node states, the running cost by the quadrature)."""
    C, D, B = collocation_coefficients(DEGREE)
    model = opti_model(spec)
    n = spec.nx * spec.B
    X = opti.variable(n)
    opti.subject_to(X == spec.x0.ravel())
    nodes, cost = [X], 0
    for _ in range(K):  # variables in time order, as rockit creates them: a banded KKT matrix
        U = opti.variable(spec.nu)
        if spec.u_bounds:
            opti.subject_to(opti.bounded(spec.u_bounds[0], U, spec.u_bounds[1]))
        Z = opti.variable(n, DEGREE)  # the state at the collocation points
        points = ca.horzcat(X, Z)
        for i in range(DEGREE):
            rate, running = model(Z[:, i], U)
            opti.subject_to(h * rate == ca.mtimes(points, C[:, i]))  # the ODE at point i
            cost += h * B[i] * running
        X = opti.variable(n)
        opti.subject_to(X == ca.mtimes(points, D))  # continuity at the node
        nodes.append(X)
    return nodes, cost


def opti_problem(spec: Spec, K: int, tol: float, peer: dict) -> ca.Opti:
    opti = ca.Opti()
    T = spec.T
    if T is None:
        T = opti.variable()
        opti.subject_to(opti.bounded(T_BOUNDS[0], T, T_BOUNDS[1]))
        opti.set_initial(T, T_GUESS)  # every other variable starts at 0, Opti's default
    nodes, cost = opti_intervals(opti, spec, K, T / K)
    if spec.x_lower:
        lower = np.tile(spec.x_lower, spec.B)
        finite = np.flatnonzero(np.isfinite(lower)).tolist()
        for X in nodes:
            opti.subject_to(X[finite] >= lower[finite])
    if spec.x_final:
        opti.subject_to(nodes[-1] == np.tile(spec.x_final, spec.B))
    if spec.terminal_cost:
        cost += sum(spec.terminal_cost(x) for x in spec.members(nodes[-1])) / spec.B
    opti.minimize(cost + T if spec.T is None else cost)
    opti.solver("ipopt", dict(peer), {**IPOPT, "tol": tol})
    return opti


def solve_opti(spec: Spec, K: int, tol: float = TOL, peer: dict = PEER) -> dict:
    def solve(opti: ca.Opti) -> dict:
        sol = opti.solve_limited()  # builds the NLP solver and solves; no exception on failure
        stats = sol.stats()
        return {"iterations": stats["iter_count"], "objective": float(sol.value(opti.f)), "success": stats["success"]}

    return timed(lambda: opti_problem(spec, K, tol, peer), solve)


# --- the tables ----------------------------------------------------------------------------------


def median_run(solve: Callable[[Spec, int], dict], spec: Spec, K: int, repeats: int) -> dict:
    """Each run builds from scratch; times are medians, the rest is the last run's."""
    runs = [solve(spec, K) for _ in range(repeats)]
    row = dict(runs[-1])
    for key in ("build", "solve"):
        row[key] = statistics.median(r[key] for r in runs)
    return row


def tools() -> dict[str, Callable[[Spec, int], dict]]:
    """The tools in the table, the baseline (rockit, when installed) first."""
    found = {"toolkit": solve_toolkit, "Opti (by hand)": solve_opti}
    try:
        import rockit  # noqa: F401
    except ImportError:
        print("rockit is not installed (pip install -e '.[bench]'): the ratios are to the toolkit instead.\n")
        return found
    return {"rockit": solve_rockit, **found}


def warm_up(runners: dict) -> None:
    """One small untimed solve per tool: imports and CasADi's first-call costs stay out of the table."""
    for run in runners.values():
        run(problems()[0], 4)


def print_row(spec: Spec, K: int, name: str, r: dict, base: dict) -> None:
    total, base_total = r["build"] + r["solve"], base["build"] + base["solve"]
    diff = abs(r["objective"] - base["objective"]) / abs(base["objective"])
    flag = "" if r["success"] else " (failed)"
    print(
        f"| {spec.name} | {K} | {name}{flag} | {r['build']:.3f} | {r['solve']:.3f} | {total:.3f} | "
        f"{r['iterations']} | {r['objective']:.10g} | {diff:.1e} | {total / base_total:.2f} |",
        flush=True,
    )


def comparison(runners: dict, Ks: tuple[int, ...], repeats: int) -> None:
    baseline = next(iter(runners))
    print(f"Radau degree {DEGREE}; seconds, medians of {repeats}; rel. diff and ratio (of totals) to {baseline}\n")
    print("| problem | K | tool | build | solve | total | iterations | objective | rel. diff | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for spec in problems():
        for K in Ks:
            rows = {name: median_run(run, spec, K, repeats) for name, run in runners.items()}
            for name, r in rows.items():
                print_row(spec, K, name, r, rows[baseline])


def peer_defaults(runners: dict, Ks: tuple[int, ...]) -> None:
    """The peers without detect_simple_bounds (their bounds as rows of g), against the toolkit; one run."""
    print("\nThe ensemble, the peers with their bounds as rows of g (CasADi's default), one run; ratio to toolkit\n")
    print("| problem | K | tool | build | solve | total | iterations | objective | rel. diff | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    spec = problems()[-1]
    defaults = {"print_time": False}
    for K in Ks:
        base = solve_toolkit(spec, K)
        print_row(spec, K, "toolkit", base, base)
        for name, run in runners.items():
            if name != "toolkit":
                print_row(spec, K, f"{name}, bounds in g", run(spec, K, peer=defaults), base)


def tight_tolerance(runners: dict, K: int) -> None:
    """The minimum-time problem at tol 1e-8 and 1e-12: how far the tools' T lie from each other and from 2.
    IPOPT relaxes bounds by bound_relax_factor = 1e-8, so |u| <= 1 + 1e-8 and T* = 2 / sqrt(1 + 1e-8)."""
    spec = problems()[0]
    print(f"\nMinimum time at K = {K}: T - 2 at two IPOPT tolerances (T* - 2 = -1.0e-08 with the relaxed bounds)\n")
    print("| tol | " + " | ".join(runners) + " | largest rel. diff |")
    print("| --- |" + " --- |" * (len(runners) + 1))
    for tol in (TOL, 1e-12):
        T = [run(spec, K, tol=tol)["objective"] for run in runners.values()]
        spread = (max(T) - min(T)) / min(T)
        print(f"| {tol:.0e} | " + " | ".join(f"{t - 2.0:.3e}" for t in T) + f" | {spread:.1e} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="K = 20 only, one run per row")
    args = parser.parse_args()
    Ks, repeats = ((20,), 1) if args.quick else (KS, REPEATS)
    runners = tools()
    warm_up(runners)
    comparison(runners, Ks, repeats)
    peer_defaults(runners, Ks[:2])
    tight_tolerance(runners, Ks[-1])


if __name__ == "__main__":
    main()
