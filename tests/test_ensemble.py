"""Ensembles: B trajectories under one shared control, evaluated as one batch (vector ops or Function.map)."""

import casadi as ca
import numpy as np
import pytest

import ocp
from ocp.nlp.transcription import transcribe
from ocp.problem.method import PARALLELIZATIONS

X0 = np.array([[1.0, 0.0], [0.5, -0.5], [-0.3, 0.8]])
TARGETS = np.array([[0.2], [-0.1], [0.4]])
METHOD = ocp.MultipleShooting(K=15, integrator=ocp.RK4(2))


def ensemble_problem(x0=X0, targets=TARGETS) -> ocp.Problem:
    x, u, y = ca.SX.sym("x", 2), ca.SX.sym("u", 2), ca.SX.sym("y")
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=ca.vertcat(x[1], -ca.sin(x[0]) + u[0] * ca.tanh(x[1]) + u[1]),
        horizon=ocp.Horizon.fixed(2.0),
        initial_state=x0,
        ensemble_data=ocp.EnsembleData(y, targets),
        running_costs={"tracking": 0.1 * (x[0] - y) ** 2, "effort": 0.05 * ca.sumsqr(u)},
        terminal_costs={"miss": (x[0] - y) ** 2 + x[1] ** 2},
    )


def stacked_by_hand() -> ocp.Problem:
    """The same problem with the B copies written out as one big state, costs averaged by hand."""
    B = len(X0)
    x, u = ca.SX.sym("x", 2 * B), ca.SX.sym("u", 2)
    xs = [x[2 * b : 2 * b + 2] for b in range(B)]
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=ca.vertcat(*[ca.vertcat(xb[1], -ca.sin(xb[0]) + u[0] * ca.tanh(xb[1]) + u[1]) for xb in xs]),
        horizon=ocp.Horizon.fixed(2.0),
        initial_state=X0.ravel(),
        running_costs={
            "tracking": sum(0.1 * (xb[0] - TARGETS[b, 0]) ** 2 for b, xb in enumerate(xs)) / B,
            "effort": 0.05 * ca.sumsqr(u),
        },
        terminal_costs={"miss": sum((xb[0] - TARGETS[b, 0]) ** 2 + xb[1] ** 2 for b, xb in enumerate(xs)) / B},
    )


@pytest.mark.parametrize("parallelization", PARALLELIZATIONS)
def test_ensemble_equals_copies_posed_by_hand(parallelization):
    guess = ocp.InitialGuess(controls=np.full((15, 2), 0.1))
    method = ocp.MultipleShooting(K=15, integrator=ocp.RK4(2), parallelization=parallelization)
    batch = ocp.solve(ensemble_problem(), method, initial_guess=guess)
    by_hand = ocp.solve(stacked_by_hand(), METHOD, initial_guess=guess)
    assert batch.success and by_hand.success
    assert batch.objective == pytest.approx(by_hand.objective, rel=1e-8)
    for name in ("tracking", "effort", "miss"):
        assert batch.costs[name] == pytest.approx(by_hand.costs[name], rel=1e-6, abs=1e-12)
    np.testing.assert_allclose(batch.controls, by_hand.controls, atol=1e-6)
    np.testing.assert_allclose(batch.states.transpose(1, 0, 2).reshape(16, -1), by_hand.states[0], atol=1e-6)


def test_sum_aggregation_is_B_times_mean_for_member_terms_only():
    x, u = ca.SX.sym("x"), ca.SX.sym("u")
    kwargs = dict(
        state=x,
        control=u,
        dynamics=-x + u,
        initial_state=[[1.0], [2.0]],
        running_costs={"effort": u**2},
        terminal_costs={"miss": x**2},
    )
    at_start = ocp.SolverOptions(first_order_iterations=0, ipopt={"max_iter": 0})  # costs at the guess, no step
    guess = ocp.InitialGuess(controls=0.3)
    method = ocp.MultipleShooting(K=4)
    mean = ocp.solve(ocp.Problem(**kwargs, aggregate="mean"), method, at_start, initial_guess=guess)
    total = ocp.solve(ocp.Problem(**kwargs, aggregate="sum"), method, at_start, initial_guess=guess)
    assert total.costs["miss"] == pytest.approx(2 * mean.costs["miss"], rel=1e-12)
    assert total.costs["effort"] == pytest.approx(mean.costs["effort"], rel=1e-12)  # shared term: not summed
    assert mean.costs["effort"] == pytest.approx(0.3**2, rel=1e-12)  # int_0^1 u^2 dt


def test_build_graph_does_not_grow_with_batch_size():
    """The step is vectorised over the batch, not unrolled: the NLP's graph has the same size for any B."""
    sizes = []
    for B in (2, 50, 500):
        rng = np.random.default_rng(B)
        nlp = transcribe(ensemble_problem(rng.normal(size=(B, 2)), rng.normal(size=(B, 1))), METHOD)
        sizes.append(ca.Function("nlp", [nlp.w, nlp.p], [nlp.f, nlp.g]).n_nodes())
    assert sizes[0] == sizes[1] == sizes[2]


def test_new_data_of_the_same_size_needs_no_rebuild():
    solver = ocp.OCPSolver(ensemble_problem(), METHOD)
    other_x0, other_targets = X0[::-1].copy(), TARGETS[::-1].copy()
    reused = solver.solve(initial_state=other_x0, data=other_targets)
    fresh = ocp.solve(ensemble_problem(other_x0, other_targets), METHOD)
    assert reused.objective == pytest.approx(fresh.objective, rel=1e-8)
    np.testing.assert_allclose(reused.states[:, 0, :], other_x0)


def test_member_and_shared_constraints_match_copies_posed_by_hand():
    """A per-member path constraint (speed) and a shared one (on the controls) mixed in one list."""
    from dataclasses import replace

    batch = ensemble_problem()
    x, u = batch.state, batch.control
    batch = replace(
        batch, path_constraints=(ocp.Constraint.at_least(x[1], -0.55), ocp.Constraint(u[0] - u[1], -0.5, 0.5))
    )
    by_hand = stacked_by_hand()
    xs, uh = by_hand.state, by_hand.control
    by_hand = replace(
        by_hand,
        path_constraints=(
            ocp.Constraint.at_least(ca.vertcat(*[xs[2 * b + 1] for b in range(len(X0))]), -0.55),
            ocp.Constraint(uh[0] - uh[1], -0.5, 0.5),
        ),
    )
    guess = ocp.InitialGuess(controls=np.zeros((15, 2)))
    a, b = ocp.solve(batch, METHOD, initial_guess=guess), ocp.solve(by_hand, METHOD, initial_guess=guess)
    assert a.success and b.success
    assert a.objective == pytest.approx(b.objective, rel=1e-7)
    assert a.states[:, :, 1].min() >= -0.55 - 1e-7
    assert np.abs(a.controls[:, 0] - a.controls[:, 1]).max() <= 0.5 + 1e-7
    assert a.objective > ocp.solve(ensemble_problem(), METHOD, initial_guess=guess).objective  # constraints bind
