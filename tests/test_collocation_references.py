"""Direct collocation against a published optimal value: the catalyst mixing problem of COPS.

Source: E. D. Dolan, J. J. More and T. S. Munson, "Benchmarking Optimization Software with COPS 3.0",
Argonne National Laboratory, Technical Report ANL/MCS-TM-273 (2004), problem 14 "Catalyst Mixing". Its
optimal value at nh = 100 as the COPS benchmark suite transcribes it: -4.80556e-2, in the repository
MadNLP/COPSBenchmark.jl, test/runtests.jl (`(COPSBenchmark.catmix_model, (100,), -4.80556e-2)`, with the
comment that these are the values reported in cops3.pdf); the model, in the same repository, in
src/catmix.jl and ext/COPSBenchmarkJuMP/catmix.jl:

    minimise  -1 + x1(1) + x2(1)
    subject to x1' = u (10 x2 - x1),  x2' = u (x1 - 10 x2) - (1 - u) x2,  0 <= u <= 1,  x(0) = (1, 0),

discretised by COPS with nh intervals of three-point Gauss-Legendre collocation (points 0.1127, 0.5,
0.8873), the state a cubic on each interval and u a variable at each collocation point (no smoothing
term: alpha = 0). That is `ocp.DirectCollocation(K=nh, degree=3, scheme="legendre")` with a control of
three values per interval, interpolated in time through the three points (`cops_catalyst_mixing`): the
same NLP. The published value is of that discretisation at nh = 100, which the first test reproduces;
the second shows the toolkit's own piecewise-constant controls converging in K to a limit that agrees
with it.

Tolerance: one unit in the published value's last digit (1e-7 absolute, 2.1e-6 relative). Measured: the
COPS discretisation at nh = 100 solved to IPOPT tol 1e-10, -4.8055690e-2 here and -4.8055692e-2 in the
transcription of the COPS equations below; the piecewise-constant controls' limit (K = 400),
-4.8055685e-2. All three round to -4.80557e-2, one unit below the published -4.80556e-2, and lie
8.5e-8 to 9.2e-8 from it: the objective is flat along the singular arc, and where a solver stops sets
that digit (IPOPT at its default tol 1e-8 stops at -4.805538e-2 on the same NLP, 2.2e-7 above it).
"""

from __future__ import annotations

import math

import casadi as ca
import numpy as np
import pytest

import ocp

PUBLISHED = -4.80556e-2  # COPS 3.0, catalyst mixing, nh = 100 (see the module docstring)
LAST_DIGIT = 1e-7  # one unit in the published value's last digit
OPTIONS = ocp.SolverOptions(check_optimality=False, tol=1e-10)


def catalyst_mixing(x: ca.SX, w: ca.SX, **extra) -> ocp.Problem:
    """The COPS catalyst mixing problem with the control w(t) in the dynamics (any expression)."""
    return ocp.Problem(
        state=x,
        dynamics=ca.vertcat(w * (10 * x[1] - x[0]), w * (x[0] - 10 * x[1]) - (1 - w) * x[1]),
        horizon=ocp.Horizon.fixed(1.0),
        initial_state=[1.0, 0.0],
        control_bounds=ocp.Bounds(0.0, 1.0),
        terminal_costs={"yield": -1 + x[0] + x[1]},
        **extra,
    )


def cops_catalyst_mixing(nh: int) -> tuple[ocp.Problem, ocp.DirectCollocation]:
    """COPS's discretisation through the public API: three control values per interval, the values at the
    three Gauss-Legendre points, and w(t) their Lagrange interpolant in tau = (t - t_k) / h (t_k a
    per-interval parameter). The collocation equations see w at the points only, where it is the point's
    own value: COPS's NLP, with its variables in another order."""
    method = ocp.DirectCollocation(K=nh, degree=3, scheme="legendre")
    points = method.points()
    x, u, t, start = ca.SX.sym("x", 2), ca.SX.sym("u", 3), ca.SX.sym("t"), ca.SX.sym("t_k")
    tau = (t - start) * nh
    w = sum(u[j] * math.prod((tau - points[m]) / (points[j] - points[m]) for m in range(3) if m != j) for j in range(3))
    problem = catalyst_mixing(
        x,
        w,
        control=u,
        time=t,
        parameters=(ocp.Parameter(start, np.arange(nh)[:, None] / nh, per_interval=True),),
    )
    return problem, method


def cops_equations_solved_directly(nh: int) -> float:
    """The COPS model's equations written out in CasADi (ext/COPSBenchmarkJuMP/catmix.jl: node values v,
    derivative coefficients w, the states pp and slopes Dpp at the points), solved by IPOPT: the
    reference for the claim that `cops_catalyst_mixing` poses the same NLP."""
    rho, h = (0.11270166537926, 0.5, 0.88729833462074), 1.0 / nh
    opti = ca.Opti()
    u, v = opti.variable(nh, 3), opti.variable(nh, 2)
    w = [opti.variable(nh, 2) for _ in range(3)]
    opti.subject_to(opti.bounded(0, ca.vec(u), 1))
    opti.set_initial(v[:, 0], 1.0)
    for i in range(nh):
        for k in range(3):
            powers = [rho[k] ** j / math.factorial(j) for j in range(4)]  # rho^j / j!
            pp = [v[i, s] + h * sum(w[j][i, s] * powers[j + 1] for j in range(3)) for s in (0, 1)]
            dpp = [sum(w[j][i, s] * powers[j] for j in range(3)) for s in (0, 1)]
            opti.subject_to(dpp[0] == u[i, k] * (10 * pp[1] - pp[0]))
            opti.subject_to(dpp[1] == u[i, k] * (pp[0] - 10 * pp[1]) - (1 - u[i, k]) * pp[1])
        end = [v[i, s] + h * sum(w[j][i, s] / math.factorial(j + 1) for j in range(3)) for s in (0, 1)]
        if i < nh - 1:
            opti.subject_to(ca.vertcat(*end) == v[i + 1, :].T)
    opti.subject_to(v[0, :].T == ca.DM([1.0, 0.0]))
    opti.minimize(-1 + end[0] + end[1])
    opti.solver("ipopt", {"print_time": False, "error_on_fail": False}, {"print_level": 0, "sb": "yes", "tol": 1e-10})
    solution = opti.solve()
    assert solution.stats()["success"]
    return float(solution.value(opti.f))


def test_the_cops_discretisation_of_catalyst_mixing_gives_the_published_value():
    """nh = 100 as COPS poses it: the published -4.80556e-2 to one unit in its last digit, and the same
    optimum as the COPS equations transcribed directly (3e-9 apart: the flat singular arc)."""
    problem, method = cops_catalyst_mixing(100)
    solution = ocp.OCPSolver(problem, method, OPTIONS).solve()
    assert solution.success
    assert solution.objective == pytest.approx(PUBLISHED, abs=LAST_DIGIT)
    assert solution.objective == pytest.approx(cops_equations_solved_directly(100), abs=1e-8)
    # the optimum's structure: u = 1 first, a singular arc (on which COPS's point values chatter), then u = 0
    assert np.all(solution.controls[:10] > 1 - 1e-6) and np.all(solution.controls[-20:] < 1e-5)


def test_piecewise_constant_controls_converge_in_K_to_the_published_value():
    """The toolkit's own controls, constant on each of K intervals (one per interval, so the switching
    times fall inside intervals): the distance to the finest grid's value falls with every doubling of K
    (measured 3.0e-6, 2.0e-7, 6.0e-8, 2.2e-9 for K = 25 ... 200 against K = 400), and that value is
    within one unit of the published value's last digit (8.5e-8 away)."""
    x, u = ca.SX.sym("x", 2), ca.SX.sym("u")
    problem = catalyst_mixing(x, u, control=u)
    options = ocp.SolverOptions(check_optimality=False, tol=1e-12)
    values = {}
    for K in (25, 50, 100, 200, 400):
        solution = ocp.OCPSolver(problem, ocp.DirectCollocation(K=K, degree=3, scheme="legendre"), options).solve()
        assert solution.success
        values[K] = solution.objective
    distances = [abs(values[K] - values[400]) for K in (25, 50, 100, 200)]
    assert all(finer < coarser for coarser, finer in zip(distances, distances[1:], strict=False))
    assert distances[0] > 1e-6 and distances[-1] < 1e-8  # the coarsest grid is visibly off, the finest is not
    assert values[400] == pytest.approx(PUBLISHED, abs=LAST_DIGIT)
