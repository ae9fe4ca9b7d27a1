"""Initialisation strategies and multi-start: known optima, determinism, n = 1 equals a plain solve."""

import numpy as np
import pytest
from known_problems import steering
from searching import portfolio

import ocp
import ocp.dispatch
from ocp.search.minima import spread
from ocp.search.multistart import random_starts
from ocp.search.strategies import Initialization, solve_with
from problems.learning.datasets import generate
from problems.learning.ensemble import random_controls
from problems.learning.l2 import l2_problem
from problems.learning.networks import NetworkDynamics

STRATEGIES = [
    Initialization("first_order"),
    Initialization("simulate"),
    Initialization("adam", iterations=50),
    Initialization("coarse_grid", stages=3),
    Initialization("continuation_T", stages=3),
    Initialization("continuation_parameter", stages=3, parameter="lam", factor=10.0),
]


def labels(report: dict) -> list[dict]:
    """Which start and strategy each solve of a multi-start report was (without its time and iterations)."""
    return [{"start": s["start"], "strategy": s["strategy"]} for s in report["solves"]]


@pytest.mark.parametrize("init", STRATEGIES, ids=lambda i: i.strategy)
def test_every_strategy_reaches_the_analytic_optimum_of_a_convex_problem(init):
    solver = ocp.OCPSolver(steering(), ocp.MultipleShooting(K=8, integrator=ocp.Euler()))
    sol = solve_with(solver, init, initial_guess=ocp.InitialGuess(controls=0.3))
    assert sol.success
    assert sol.objective == pytest.approx(0.5 / 2.5, rel=1e-9)
    assert sol.controls == pytest.approx(1 / 2.5, rel=1e-7)
    assert sol.T == 2.0 and sol.parameters["lam"] == pytest.approx(0.5)  # the target, not a stage's value
    stages = sol.start["stages"]
    assert sol.start["strategy"] == init.strategy and stages[-1]["stage"] == "final"
    expected = 3 if init.strategy in ("coarse_grid", "continuation_T", "continuation_parameter") else 1
    assert len(stages) == expected


def small_learning_problem():
    problem, _ = l2_problem(generate("spirals", 40, seed=3), NetworkDynamics("inside", "tanh"), T=3.0, lam=1e-3)
    guess = ocp.InitialGuess(controls=random_controls(8, problem.nu, 0.3, seed=3))
    return problem, ocp.MultipleShooting(K=8), guess


@pytest.mark.parametrize("init", STRATEGIES[:5], ids=lambda i: i.strategy)
def test_strategies_are_deterministic_on_a_learning_problem(init):
    problem, method, guess = small_learning_problem()
    runs = [solve_with(ocp.OCPSolver(problem, method), init, initial_guess=guess) for _ in range(2)]
    assert runs[0].objective == runs[1].objective
    np.testing.assert_array_equal(runs[0].controls, runs[1].controls)


def test_random_starts_are_seeded_and_start_zero_is_the_guess():
    base = ocp.InitialGuess(controls=np.full((8, 6), 0.1))
    a, b = random_starts(base, 8, 6, 4, 1.0, seed=7), random_starts(base, 8, 6, 4, 1.0, seed=7)
    assert a[0] is base and len(a) == 4
    for x, y in zip(a[1:], b[1:], strict=True):
        np.testing.assert_array_equal(x.controls, y.controls)
    assert not np.array_equal(a[1].controls, a[2].controls)
    assert np.std(np.concatenate([g.controls.ravel() for g in a[1:]])) == pytest.approx(1.0, rel=0.15)


def test_spread_counts_distinct_optima():
    report = spread([0.3, 0.1, 0.1 * (1 + 1e-9), 0.2, float("nan")], [True, True, True, True, False])
    assert report["median"] == pytest.approx(0.15, rel=1e-8)
    assert {k: report[k] for k in ("converged", "best", "worst", "distinct")} == {
        "converged": 4,
        "best": 0.1,
        "worst": 0.3,
        "distinct": 3,
    }


def test_one_start_is_a_plain_solve():
    problem, method, guess = small_learning_problem()
    plain = ocp.OCPSolver(problem, method).solve(initial_guess=guess)
    best = portfolio(problem, method, [guess], workers=1)
    assert best.objective == plain.objective
    np.testing.assert_array_equal(best.controls, plain.controls)
    assert best.start["multistart"]["starts"] == 1 and best.start["multistart"]["best_start"] == 0


def test_worker_processes_give_the_serial_results_and_keep_the_best():
    problem, method, guess = small_learning_problem()
    starts = random_starts(guess, method.K, problem.nu, 4, 1.0, seed=0)
    serial = portfolio(problem, method, starts, workers=1)
    parallel = portfolio(problem, method, starts, workers=2)
    objectives = serial.start["multistart"]["objectives"]
    assert parallel.start["multistart"]["objectives"] == pytest.approx(objectives, rel=1e-10)
    assert serial.objective == min(objectives) == pytest.approx(parallel.objective, rel=1e-10)


def test_a_portfolio_solves_every_start_with_every_strategy_and_keeps_the_best():
    problem, method, guess = small_learning_problem()
    starts = random_starts(guess, method.K, problem.nu, 2, 1.0, seed=0)
    inits = [Initialization("first_order"), Initialization("simulate")]
    best = portfolio(problem, method, starts, init=inits, workers=2)
    report = best.start["multistart"]
    solver = ocp.OCPSolver(problem, method, ocp.SolverOptions(check_optimality=False))
    expected = [solve_with(solver, init, initial_guess=start).objective for start in starts for init in inits]
    assert labels(report) == [{"start": i, "strategy": s} for i in (0, 1) for s in ("first_order", "simulate")]
    assert report["objectives"] == pytest.approx(expected, rel=1e-10)  # each solve as if run alone
    assert best.objective == pytest.approx(min(expected), rel=1e-10)
    kept = report["solves"][int(np.argmin(expected))]
    assert (report["best_start"], report["best_strategy"]) == (kept["start"], kept["strategy"])
    assert best.start["strategy"] == kept["strategy"]


def test_without_a_first_order_phase_the_portfolio_solves_each_start_once():
    """On an L1 problem (slack constraints: no first-order phase) first_order and adam start IPOPT exactly as
    simulate does, so a three-strategy portfolio is one simulate solve per start, with the same optimum."""
    from problems.learning.l1 import l1_problem

    problem, _ = l1_problem(generate("annulus", 16, seed=2), NetworkDynamics("inside", "tanh"), T=2.0, lam=1e-2)
    method = ocp.MultipleShooting(K=6)
    starts = random_starts(ocp.InitialGuess(controls=0.1), method.K, problem.nu, 2, 1.0, seed=2)
    inits = [Initialization("first_order"), Initialization("simulate"), Initialization("adam")]
    best = portfolio(problem, method, starts, init=inits, workers=1)
    report = best.start["multistart"]
    assert report["strategies"] == ["simulate"] and len(report["objectives"]) == 2
    solver = ocp.OCPSolver(problem, method, ocp.SolverOptions(check_optimality=False))
    alone = [solve_with(solver, init, initial_guess=starts[1]).objective for init in inits]
    assert alone[0] == alone[1] == alone[2] == report["objectives"][1]  # the three are one solve


def test_first_start_strategies_solve_start_zero_once_more_and_only_where_they_apply():
    """A continuation in the problem's marked parameter (lambda on every learning problem) is solved once, from
    start 0, right after start 0's other strategies (so that a search stopped early has seen it); it equals that
    continuation run alone; a problem that marks no parameter (steering) leaves it out."""
    problem, method, guess = small_learning_problem()
    starts = random_starts(guess, method.K, problem.nu, 2, 1.0, seed=0)
    continuation = Initialization("continuation_parameter")
    best = portfolio(problem, method, starts, init=Initialization("simulate"), first_start=[continuation], workers=1)
    report = best.start["multistart"]
    assert labels(report) == [
        {"start": 0, "strategy": "simulate"},
        {"start": 0, "strategy": "continuation_parameter"},
        {"start": 1, "strategy": "simulate"},
    ]
    solver = ocp.OCPSolver(problem, method, ocp.SolverOptions(check_optimality=False))
    named = solve_with(solver, Initialization("continuation_parameter", parameter="lambda"), initial_guess=guess)
    assert report["objectives"][1] == pytest.approx(named.objective, rel=1e-10)  # "" resolves to lambda
    assert [s["stage"] for s in named.start["stages"]] == ["lambda=0.1", "lambda=0.01", "final"]
    assert best.objective == pytest.approx(min(report["objectives"]), rel=1e-10)

    plain = steering()  # its parameter is not marked for continuation
    kept = portfolio(plain, ocp.MultipleShooting(K=4), [ocp.InitialGuess()], first_start=[continuation], workers=1)
    assert labels(kept.start["multistart"]) == [{"start": 0, "strategy": "first_order"}]


def test_only_the_kept_solution_is_checked_and_the_check_is_the_solvers():
    problem, method, guess = small_learning_problem()
    solver = ocp.OCPSolver(problem, method)
    unchecked = solver.solve(initial_guess=guess, check_optimality=False)
    assert "skipped" in unchecked.optimality
    checked = solver.solve(initial_guess=guess)
    assert checked.objective == unchecked.objective
    later = solver.check(unchecked).as_dict()  # the same point checked after the fact
    assert later["smallest_eigenvalue"] == pytest.approx(checked.optimality["smallest_eigenvalue"], rel=1e-9)
    assert later["second_order_ok"] == checked.optimality["second_order_ok"]
    for workers in (1, 2):
        best = portfolio(problem, method, [guess], workers=workers)
        assert best.optimality["smallest_eigenvalue"] == pytest.approx(later["smallest_eigenvalue"], rel=1e-9)
    staged = solve_with(solver, Initialization("continuation_T", stages=2), initial_guess=guess)
    assert staged.optimality.get("smallest_eigenvalue") is not None  # the final stage is checked


def test_the_iteration_cap_gives_up_a_start_and_says_so():
    problem, method, guess = small_learning_problem()
    plain = ocp.SolverOptions(first_order_iterations=0, check_optimality=False)
    best = portfolio(problem, method, [guess], plain, workers=1, max_iter=3)
    assert best.iterations == 3 and not best.success and best.status == "Maximum_Iterations_Exceeded"
    assert best.start["multistart"]["converged"] == 0
    with pytest.raises(ocp.ProblemError, match="max_iter must be an integer >= 1"):
        portfolio(problem, method, [guess], plain, workers=1, max_iter=0)
    timed = portfolio(problem, method, [guess], plain, workers=1, max_seconds=1e-3)
    assert timed.status == "Maximum_WallTime_Exceeded" and not timed.success


def test_stop_when_stops_ipopt_at_the_next_iteration():
    problem, method, guess = small_learning_problem()
    plain, asked = ocp.SolverOptions(first_order_iterations=0), []
    solver = ocp.OCPSolver(problem, method, plain, stop_when=lambda: asked.append(1))
    going_on = solver.solve(initial_guess=guess)
    assert going_on.success and len(asked) == going_on.iterations + 1  # asked at every iterate; None: go on
    stopping = ocp.OCPSolver(problem, method, plain, stop_when=lambda: True)
    stopped = stopping.solve(initial_guess=guess)
    assert stopped.status == "User_Requested_Stop" and not stopped.success and stopped.iterations == 0
    assert "patience" in stopped.message


@pytest.mark.parametrize("workers", [1, 2])
def test_patience_gives_up_a_solve_far_slower_than_the_finished_ones(monkeypatch, workers):
    """Start 0 is the optimum (IPOPT confirms it in a few iterations), starts 1-3 are random draws that
    need tens of iterations; with patience 1 and no floor the cutoff is the quick solve's duration, so
    the later starts are given up (the 2 workers start two solves at once: the second waits for the cutoff)."""

    problem, method, guess = small_learning_problem()
    plain = ocp.SolverOptions(first_order_iterations=0, check_optimality=False)
    optimum = ocp.OCPSolver(problem, method, plain).solve(initial_guess=guess)
    starts = random_starts(ocp.InitialGuess(controls=optimum.controls), method.K, problem.nu, 4, 1.0, seed=0)
    init = Initialization("simulate")
    monkeypatch.setattr(ocp.dispatch, "MIN_TIME_LIMIT_S", 0.0)  # renamed from multistart.MIN_PATIENCE_S
    patient = portfolio(problem, method, starts, plain, init=init, workers=workers)
    impatient = portfolio(problem, method, starts, plain, init=init, workers=workers, patience=1.0)
    full, cut = patient.start["multistart"], impatient.start["multistart"]
    assert full["converged"] == 4 and full["stopped_for_patience"] == 0
    assert cut["stopped_for_patience"] >= 2 and cut["converged"] == 4 - cut["stopped_for_patience"]
    assert impatient.objective == pytest.approx(optimum.objective, rel=1e-8)  # start 0 is kept
    with pytest.raises(ocp.ProblemError, match="patience must be >= 1"):
        portfolio(problem, method, starts, plain, workers=1, patience=0.5)


def test_bad_strategy_settings_are_refused_with_the_field():
    with pytest.raises(ocp.ProblemError, match="strategy must be one of"):
        Initialization("annealing")
    with pytest.raises(ocp.ProblemError, match="factor must be > 1"):
        Initialization("continuation_parameter", factor=1.0)
    with pytest.raises(ocp.ProblemError, match="learning_rate must be > 0"):
        Initialization("adam", learning_rate=0.0)
    with pytest.raises(ocp.ProblemError, match="iterations must be an integer >= 1"):
        Initialization("adam", iterations=0)
    solver = ocp.OCPSolver(steering(), ocp.MultipleShooting(K=4))
    with pytest.raises(ocp.ProblemError, match="not a fixed parameter"):
        solve_with(solver, Initialization("continuation_parameter", parameter="lambda"))
    with pytest.raises(ocp.ProblemError, match="marks 0 for continuation; set initialization.parameter to one of"):
        solve_with(solver, Initialization("continuation_parameter"))
    with pytest.raises(ocp.ProblemError, match="starts must be"):
        random_starts(None, 4, 1, 0, 1.0, 0)
