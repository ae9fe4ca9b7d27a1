"""States and controls whose number changes between intervals (`ocp.IntervalSizes`), and per-interval parameters.

The known answer: an ensemble of scalar integrators that splits into two
states halfway (x -> (x, x)), with a running weight that changes per
interval, is a least-squares problem in the six controls that exist; numpy's
lstsq solves it independently of the transcription.
"""

from __future__ import annotations

import casadi as ca
import numpy as np
import pytest

import ocp

K, T, H = 4, 1.0, 0.25
START = np.array([0.5, -0.3])  # x(0) of the two members (first stage: one state)
TARGETS = np.array([[1.0, -1.0], [0.2, 0.8]])  # y_b: where (x_1, x_2)(T) should end
WEIGHTS = np.array([1.0, 1.0, 2.0, 0.5])  # c_k on interval k


SPLIT = (np.eye(1), np.array([[1.0], [1.0]]), np.eye(2))  # M_k at nodes 1, 2, 3: node 2 copies x


def split_problem(transfers=SPLIT) -> ocp.Problem:
    x, u, y, c = ca.SX.sym("x", 2), ca.SX.sym("u", 2), ca.SX.sym("y", 2), ca.SX.sym("c")
    first, second = np.array([0]), np.array([0, 1])
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=u,
        horizon=ocp.Horizon.fixed(T),
        parameters=(ocp.Parameter(c, WEIGHTS[:, None], per_interval=True),),
        running_costs={"effort": c * ca.sumsqr(u)},
        terminal_costs={"miss": ca.sumsqr(x - y)},
        initial_state=np.column_stack([START, np.zeros(2)]),
        ensemble_data=ocp.EnsembleData(y, TARGETS),
        interval_sizes=ocp.IntervalSizes((first, first, second, second), (first, first, second, second), transfers),
    )


def least_squares_answer() -> tuple[float, np.ndarray]:
    """Controls z = (u1_0, u1_1, u1_2, u1_3, u2_2, u2_3) minimising the same cost, and its value."""
    rows, rhs = [], []
    for k, entries in enumerate([[0], [1], [2, 4], [3, 5]]):
        for j in entries:
            row = np.zeros(6)
            row[j] = np.sqrt(WEIGHTS[k] * H)
            rows.append(row)
            rhs.append(0.0)
    scale = np.sqrt(1 / len(START))
    for a, (y1, y2) in zip(START, TARGETS, strict=True):
        rows.append(scale * H * np.array([1, 1, 1, 1, 0, 0]))
        rhs.append(scale * (y1 - a))
        rows.append(scale * H * np.array([1, 1, 0, 0, 1, 1]))
        rhs.append(scale * (y2 - a))
    A, b = np.array(rows), np.array(rhs)
    z = np.linalg.lstsq(A, b, rcond=None)[0]
    return float(np.sum((A @ z - b) ** 2)), z


def test_a_state_that_splits_halfway_matches_the_least_squares_answer():
    """Objective and controls to 1e-8 (IPOPT tol 1e-8 on an unconstrained QP); absent entries are 0 in
    the solution, the split node holds (x, x), and `simulate` reproduces the solution's states."""
    problem = split_problem()
    method = ocp.MultipleShooting(K=K)
    sol = ocp.OCPSolver(problem, method).solve()
    best, z = least_squares_answer()
    assert sol.success
    assert sol.objective == pytest.approx(best, rel=1e-8)
    expected = np.array([[z[0], 0.0], [z[1], 0.0], [z[2], z[4]], [z[3], z[5]]])
    np.testing.assert_allclose(sol.controls, expected, atol=1e-8)
    assert np.all(sol.states[:, :2, 1] == 0.0)  # x_2 does not exist before the split
    np.testing.assert_allclose(sol.states[:, 2, 0], sol.states[:, 2, 1], atol=1e-12)
    np.testing.assert_allclose(ocp.simulate(problem, method, sol.controls), sol.states, atol=1e-10)
    assert sol.parameters["c"].shape == (K, 1)


@pytest.mark.parametrize("scheme", ["radau", "legendre"])
def test_direct_collocation_takes_the_split_with_the_same_answer(scheme):
    """The dynamics x' = u are constant on each interval, so collocation is exact: the least-squares
    answer to 1e-8 again. Stage values exist only for the interval's entries (x_2 is 0 at the points
    before the split), lie on the line through the node states, and multiple shooting's solution warm
    starts the collocation NLP, which then needs no more than a couple of iterations."""
    problem = split_problem()
    method = ocp.DirectCollocation(K, degree=2, scheme=scheme)
    sol = ocp.OCPSolver(problem, method).solve()
    best, z = least_squares_answer()
    assert sol.success, sol.message
    assert sol.objective == pytest.approx(best, rel=1e-8)
    assert sol.collocation_states.shape == (2, K, 2, 2)
    assert np.all(sol.collocation_states[:, :2, :, 1] == 0.0)
    c = sol.collocation_points
    line = sol.states[:, :-1, None, :] + c[None, None, :, None] * (sol.controls[None, :, None, :] * H)
    np.testing.assert_allclose(sol.collocation_states, line, atol=1e-8)
    shooting = ocp.OCPSolver(problem, ocp.MultipleShooting(K=K)).solve()
    warm = ocp.OCPSolver(problem, method).solve(initial_guess=shooting)
    assert warm.success and warm.iterations <= 2
    assert warm.objective == pytest.approx(best, rel=1e-8)


def test_the_gradient_flow_trains_the_staged_problem_towards_the_same_optimum():
    """Full-batch gradient descent on the condensed staged cost converges to the least-squares optimum."""
    flow = ocp.GradientFlow(split_problem(), ocp.MultipleShooting(K=K), ocp.GradientFlowOptions(iterations=3000))
    sol = flow.solve()
    best, _ = least_squares_answer()
    assert sol.objective == pytest.approx(best, rel=1e-6)


def test_new_entries_start_at_zero_by_default():
    """Without transfers, entries on both intervals carry over and new ones start at 0."""
    problem = split_problem(transfers=None)
    np.testing.assert_array_equal(problem.interval_sizes.transfer(1), [[1.0], [0.0]])
    states = ocp.simulate(problem, ocp.MultipleShooting(K=K), np.ones((K, 2)))
    np.testing.assert_allclose(states[:, 2, 1], 0.0)
    np.testing.assert_allclose(states[:, 4, 1], 2 * H)


def test_constant_interval_sizes_change_nothing():
    """All entries on every interval, identity transfers and a per-interval parameter holding one value:
    the same objective and controls as the plain problem (to 1e-12)."""
    problem = split_problem()
    full = np.array([0, 1])
    constant = ocp.Problem(
        **{
            **{f: getattr(problem, f) for f in problem.__dataclass_fields__},
            "parameters": (ocp.Parameter(problem.parameters[0].symbol, np.ones((K, 1)), per_interval=True),),
            "interval_sizes": ocp.IntervalSizes((full,) * K, (full,) * K),
        }
    )
    plain = ocp.Problem(
        **{
            **{f: getattr(problem, f) for f in problem.__dataclass_fields__},
            "parameters": (ocp.Parameter(problem.parameters[0].symbol, 1.0),),
            "interval_sizes": None,
        }
    )
    method = ocp.MultipleShooting(K=K)
    a, b = ocp.OCPSolver(constant, method).solve(), ocp.OCPSolver(plain, method).solve()
    assert a.objective == pytest.approx(b.objective, rel=1e-12)
    np.testing.assert_allclose(a.controls, b.controls, atol=1e-12)


def test_mismatched_interval_sizes_are_refused_with_the_cause():
    problem = split_problem()
    with pytest.raises(ocp.ProblemError, match="interval_sizes cover 4 intervals but the method has K = 5"):
        ocp.OCPSolver(problem, ocp.MultipleShooting(K=5))
    x, u = ca.SX.sym("x", 2), ca.SX.sym("u", 2)
    with pytest.raises(ocp.ProblemError, match=r"interval_sizes.states\[1\]"):
        ocp.Problem(x, u, u, interval_sizes=ocp.IntervalSizes(([0], [2]), ([0], [0])))
    with pytest.raises(ocp.ProblemError, match=r"interval_sizes.transfers\[0\] must have shape \(2, 1\)"):
        ocp.Problem(x, u, u, interval_sizes=ocp.IntervalSizes(([0], [0, 1]), ([0], [0]), (np.eye(2),)))
    with pytest.raises(ocp.ProblemError, match="parameter 'c' is per interval"):
        c = ca.SX.sym("c")
        ocp.Problem(x, u, c * u, parameters=(ocp.Parameter(c, [1.0, 2.0], per_interval=True),))
    c = ca.SX.sym("c")
    weighted = ocp.Problem(
        x, u, c * u, initial_state=[0.0, 0.0], parameters=(ocp.Parameter(c, WEIGHTS[:, None], per_interval=True),)
    )
    with pytest.raises(ocp.ProblemError, match="per-interval parameter 'c' has 4 values but the method has K = 5"):
        ocp.simulate(weighted, ocp.MultipleShooting(K=5), np.ones((5, 2)))
    with pytest.raises(ocp.ProblemError, match="coarse_grid"):
        from ocp.search.strategies import Initialization, solve_with

        solve_with(ocp.OCPSolver(problem, ocp.MultipleShooting(K=K)), Initialization("coarse_grid"))
