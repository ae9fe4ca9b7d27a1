"""The first-order start: the condensed objective, its gradient, when it applies, and what it buys."""

from pathlib import Path

import casadi as ca
import numpy as np
import pytest

import ocp
from ocp.nlp.transcription import transcribe
from ocp.solvers.first_order import inapplicable_reason
from problems.learning.datasets import Dataset
from problems.learning.l2 import l2_problem
from problems.learning.networks import NetworkDynamics

INSTANCE = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "annulus_N400_K20.npz"
METHOD = ocp.MultipleShooting(K=12, integrator=ocp.RK4(2))


def free_time_ensemble() -> ocp.Problem:
    """Two members, a free decay rate p, a free T in a cost: every kind of condensed variable."""
    x, u, p, y = ca.SX.sym("x", 2), ca.SX.sym("u"), ca.SX.sym("p"), ca.SX.sym("y")
    horizon = ocp.Horizon.bounded(0.5, 3.0, guess=1.5)
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=ca.vertcat(x[1], -p * x[0] + u * ca.tanh(x[1])),
        horizon=horizon,
        initial_state=[[1.0, 0.0], [0.5, -0.5]],
        ensemble_data=ocp.EnsembleData(y, [[0.2], [-0.1]]),
        free_parameters=(ocp.FreeParameter(p, ocp.Bounds(0.1, 4.0), 1.0),),
        running_costs={"tracking": 0.3 * (x[0] - y) ** 2, "effort": 0.05 * u**2},
        terminal_costs={"miss": (x[0] - y) ** 2 + 0.1 * horizon.symbol},
    )


def condensed_and_full(problem, u, p_value, T):
    """Objectives of the condensed and the full NLP at the same controls, the full one at simulated states."""
    full, cond = transcribe(problem, METHOD), transcribe(problem, METHOD.condensed())
    controls = np.tile(u, (METHOD.K, 1))
    states = ocp.simulate(problem, METHOD, controls, T=T, parameters={"p": p_value})

    def fill(layout):
        w = np.zeros(layout.size)
        w[layout.free_parameters], w[layout.horizon], w[layout.controls] = p_value, T, controls
        w[layout.states] = states.transpose(1, 0, 2)[: layout.states.shape[0]]
        return w

    nlp_p = np.ravel(problem.data_values)
    f_full = ca.Function("f", [full.w, full.p], [full.f])
    f_cond = ca.Function("f", [cond.w, cond.p], [cond.f, ca.gradient(cond.f, cond.w)])
    return float(f_full(fill(full.layout), nlp_p)), f_cond, fill(cond.layout), nlp_p, cond


def test_condensed_objective_equals_full_objective_at_simulated_states():
    f_full, f_cond, w, p, cond = condensed_and_full(free_time_ensemble(), [0.4], 1.3, 2.0)
    assert cond.g.numel() == 0  # no gaps: the states are eliminated
    assert float(f_cond(w, p)[0]) == pytest.approx(f_full, rel=1e-12)


def test_condensed_gradient_matches_central_differences():
    _, f_cond, w, p, cond = condensed_and_full(free_time_ensemble(), [0.4], 1.3, 2.0)
    grad = np.asarray(f_cond(w, p)[1]).ravel()
    eps = 1e-6
    for i in [*cond.layout.free_parameters, *cond.layout.horizon, *cond.layout.controls.ravel()]:
        step = np.zeros_like(w)
        step[i] = eps
        fd = (float(f_cond(w + step, p)[0]) - float(f_cond(w - step, p)[0])) / (2 * eps)
        assert grad[i] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_phase_keeps_the_optimum_of_an_unconstrained_problem():
    """Same KKT point with and without the start: the tracking ensemble has one optimum near the guess."""
    problem = free_time_ensemble()
    with_phase = ocp.solve(problem, METHOD)
    without = ocp.solve(problem, METHOD, ocp.SolverOptions(first_order_iterations=0))
    assert with_phase.success and without.success
    assert with_phase.first_order["iterations"] > 0 and not with_phase.first_order["skipped"]
    assert with_phase.first_order["objective_end"] < with_phase.first_order["objective_start"]
    assert with_phase.objective == pytest.approx(without.objective, rel=1e-8)
    assert with_phase.T == pytest.approx(without.T, rel=1e-6)


def test_adam_reaches_the_projected_minimiser_of_a_bounded_quadratic():
    """min (z0 - 3)^2 + 10 (z1 + 1)^2 on [-2, 2]^2: the minimiser is (2, -1), on the bound in z0."""
    from ocp.solvers.first_order import _adam

    def cost_and_gradient(z):
        return float((z[0] - 3) ** 2 + 10 * (z[1] + 1) ** 2), np.array([2 * (z[0] - 3), 20 * (z[1] + 1)])

    lower, upper = np.full(2, -2.0), np.full(2, 2.0)
    result = _adam(cost_and_gradient, np.zeros(2), lower, upper, 3000, 1e-2, None)
    assert result.nit == 3000 and result.x[0] == 2.0  # the projection holds it on the bound exactly
    assert result.x[1] == pytest.approx(-1.0, abs=1e-4)
    assert result.fun == pytest.approx(1.0, abs=1e-6)


def test_adam_keeps_the_last_finite_iterate():
    """A cost that is not finite beyond z = 1: Adam stops there and returns the iterate before."""
    from ocp.solvers.first_order import _adam

    def cost_and_gradient(z):
        return (float(-z[0]), np.array([-1.0])) if z[0] < 1.0 else (np.inf, np.zeros(1))

    result = _adam(cost_and_gradient, np.zeros(1), np.full(1, -5.0), np.full(1, 5.0), 1000, 0.3, None)
    assert "not finite" in result.message and np.isfinite(result.fun)
    assert result.x[0] < 1.0 and result.fun == pytest.approx(-result.x[0])


def test_phase_is_skipped_with_a_reason_when_constraints_are_not_boxes():
    x, u = ca.SX.sym("x"), ca.SX.sym("u")
    base = dict(state=x, control=u, dynamics=u, initial_state=[0.0], running_costs={"effort": u**2})
    constrained = ocp.Problem(**base, final_constraints=(ocp.Constraint.equal(x, 1.0),))
    bounded = ocp.Problem(**base, state_bounds=ocp.Bounds(-1.0, 2.0), terminal_costs={"miss": (x - 1) ** 2})
    assert "constraints" in inapplicable_reason(constrained)
    assert "state bounds" in inapplicable_reason(bounded)
    sol = ocp.solve(constrained, ocp.MultipleShooting(K=10))
    assert sol.success and "constraints" in sol.first_order["skipped"]
    assert sol.objective == pytest.approx(1.0, rel=1e-8)  # min int_0^1 u^2 with x(1) = 1: u = 1


def test_report_survives_save_and_load(tmp_path):
    sol = ocp.solve(free_time_ensemble(), METHOD)
    loaded = ocp.Solution.load(sol.save(tmp_path / "s.npz"))
    assert sol.first_order["iterations"] > 0
    assert dict(loaded.first_order) == dict(sol.first_order)


def test_negative_iteration_count_is_refused():
    with pytest.raises(ocp.ProblemError, match="first_order_iterations"):
        ocp.SolverOptions(first_order_iterations=-1)


@pytest.mark.slow
def test_default_start_beats_the_plain_multiple_shooting_point_on_the_reference_instance():
    """benchmarks/data: plain multiple shooting from U0 stops at 0.3587 (tests/test_benchdata_reference.py).

    Measured with the default start (200 L-BFGS-B iterations, then IPOPT): 0.028831. Which local optimum
    L-BFGS-B's path ends near depends on rounding (0.0355 with another stopping tolerance), so the test asks
    for what the start is for: a KKT point at least ten times better than the plain one. scipy's L-BFGS-B run
    to convergence reaches 0.0261 (the performance issue), so this is not the best known optimum.
    """
    with np.load(INSTANCE) as raw:
        data, U0 = Dataset(raw["X"], raw["y"]), raw["U0"]
    problem, _ = l2_problem(data, NetworkDynamics("inside", "tanh"), T=5.0, lam=1e-3)
    sol = ocp.solve(problem, ocp.MultipleShooting(K=20), initial_guess=ocp.InitialGuess(controls=U0))
    assert sol.success, sol.message
    assert sol.first_order["iterations"] == 200
    assert sol.objective <= sol.first_order["objective_end"] + 1e-12
    assert sol.objective < 0.3587 / 10
    assert sol.iterations <= 20


@pytest.mark.slow
def test_default_pipeline_reaches_the_target_on_the_reference_instance():
    """The portfolio that was the CLI's default before the global search, on benchmarks/data: 8 starts (U0 and
    7 draws at scale 1, seed 0), each solved with first_order, simulate and adam, 500 iterations / 300 s /
    10 x the median solve at most.

    Target of the initialisation issue: <= 0.0265 (scipy L-BFGS-B's 0.02607 + 2 %), a KKT point.
    Measured: 0.0194774 (87 s wall on 2 cores; 24 of 24 converged, 6 solves reach it; U0 alone, first_order:
    0.028831).
    """
    from searching import portfolio

    from ocp.run.settings import RunSettings
    from ocp.search.multistart import random_starts

    run = RunSettings(problem="l2")  # the defaults every config starts from
    with np.load(INSTANCE) as raw:
        data, U0 = Dataset(raw["X"], raw["y"]), raw["U0"]
    problem, _ = l2_problem(data, NetworkDynamics("inside", "tanh"), T=5.0, lam=1e-3)
    starts = random_starts(ocp.InitialGuess(controls=U0), 20, problem.nu, run.multistart.starts, 1.0, seed=0)
    best = portfolio(
        problem,
        ocp.MultipleShooting(K=20),
        starts,
        init=run.initializations(),
        max_iter=run.multistart.max_iter,
        max_seconds=run.multistart.max_seconds,
        patience=run.multistart.patience,
    )
    assert best.success, best.message
    assert best.objective <= 0.0265
    assert best.optimality["second_order_ok"] is True and best.optimality["first_order_gap"] <= 1e-6
