"""The multi-start's stopping rule on a landscape whose minima are known (`known_problems.double_wells`)."""

import itertools

import numpy as np
import pytest
from known_problems import double_wells

import ocp
from ocp.basins import posterior
from ocp.multistart import multistart, random_starts
from ocp.search_plan import Hops, plan
from ocp.strategies import Initialization, solve_with

TILTS = (0.3, -0.2)
METHOD = ocp.MultipleShooting(K=1, integrator=ocp.Euler(1))


def well_minima(a: float) -> list[float]:
    """Values of (u^2 - 1)^2 + a u at its two local minima (the outer real roots of 4u^3 - 4u + a)."""
    roots = np.sort(np.roots([4.0, 0.0, -4.0, a]).real)
    return [(u**2 - 1) ** 2 + a * u for u in (roots[0], roots[2])]


def search(workers: int, starts: int = 200, confidence: float | None = 0.95, max_searches: int | None = None):
    guess = ocp.InitialGuess(controls=np.full((1, len(TILTS)), 0.01))
    return multistart(
        double_wells(TILTS),
        METHOD,
        random_starts(guess, 1, len(TILTS), starts, 1.0, seed=0),
        init=Initialization("simulate"),
        workers=workers,
        confidence=confidence,
        max_searches=max_searches,
    )


def test_the_search_finds_the_global_minimum_and_counts_the_minima():
    """2 wells: 4 local minima of known values. At confidence 0.95 the search stops once
    (n - w - 1) / (n - 1) >= 0.95, i.e. after 81 searches with w = 4; it has then seen all four
    minima, the lowest is the analytic global one, and the posterior's most likely K is the true 4."""
    best = search(workers=1)
    report = best.start["multistart"]
    values = sorted(sum(c) for c in itertools.product(*(well_minima(a) for a in TILTS)))
    assert best.objective == pytest.approx(values[0], abs=1e-8)
    assert report["distinct"] == 4 and report["local_searches"] == 81
    assert report["stop_reason"] == "confidence reached"
    seen = sorted({round(f, 6) for f, ok in zip(report["objectives"], report["succeeded"], strict=True) if ok})
    assert seen == pytest.approx(values, abs=1e-6)
    estimate = report["estimate"]
    assert estimate["probability_best_is_global"] >= 0.95
    p = posterior(81, 4, 10_000)
    assert int(np.argmax(p)) == 0  # K = 4 is the posterior mode
    assert estimate["probability_all_seen"] == pytest.approx(p[0], rel=1e-3)
    assert 4 <= estimate["expected_minima"] < 5


def test_the_answer_does_not_depend_on_the_number_of_workers():
    """The rule decides on the finished prefix of the task order, so 2 workers keep what 1 keeps."""
    serial, parallel = search(workers=1), search(workers=2)
    a, b = serial.start["multistart"], parallel.start["multistart"]
    assert (a["local_searches"], a["distinct"], a["best_hits"]) == (b["local_searches"], b["distinct"], b["best_hits"])
    assert parallel.objective == pytest.approx(serial.objective, rel=1e-12)


def test_a_budget_too_small_for_the_confidence_says_so_and_one_search_is_a_plain_solve():
    short = search(workers=1, starts=10).start["multistart"]
    assert short["stop_reason"] == "solve budget spent"
    assert short["estimate"]["probability_best_is_global"] < 0.95
    every = search(workers=1, starts=10, confidence=None).start["multistart"]
    assert every["stop_reason"] == "every solve run" and every["local_searches"] == 10

    one = search(workers=1, starts=1)
    assert search(workers=1, max_searches=1).objective == one.objective  # a budget of one search: start 0 alone
    solver = ocp.OCPSolver(double_wells(TILTS), METHOD, ocp.SolverOptions(check_optimality=False))
    plain = solve_with(
        solver, Initialization("simulate"), initial_guess=ocp.InitialGuess(controls=np.full((1, 2), 0.01))
    )
    assert one.objective == pytest.approx(plain.objective, rel=1e-12)
    assert one.start["multistart"]["estimate"]["probability_best_is_global"] == 0.0  # one search says nothing


def test_without_hops_the_plan_is_the_portfolio_and_hops_follow_what_each_kind_found():
    inits = [Initialization("first_order"), Initialization("simulate")]
    portfolio = plan(3, inits, [Initialization("continuation_parameter")], None, None)
    order = [portfolio.next(j, {}) for j in range(portfolio.total)]
    assert [(t.start, t.strategy.strategy) for t in order] == [
        (0, "first_order"),
        (0, "simulate"),
        (0, "continuation_parameter"),
        (1, "first_order"),
        (1, "simulate"),
        (2, "first_order"),
        (2, "simulate"),
    ]
    assert plan(3, inits, [], None, 4).total == 4 and plan(3, inits, [], Hops(), None).total == 12
    with pytest.raises(ocp.ProblemError, match="hops scale"):
        Hops(scale=0.0)


def hopping(workers: int):
    guess = ocp.InitialGuess(controls=np.full((1, len(TILTS)), 0.01))
    return multistart(
        double_wells(TILTS),
        METHOD,
        random_starts(guess, 1, len(TILTS), 4, 1.0, seed=0),
        init=Initialization("simulate"),
        workers=workers,
        hops=Hops(strategy=Initialization("simulate")),
        max_searches=40,
        seed=3,
    )


def test_hops_start_from_the_best_so_far_and_repeat_for_a_seed():
    """Each hop starts from the best converged solve at least `workers` positions before it; the same seed and
    worker count give the same solves; every minimum a hop reaches is one of the four known ones."""
    first, again = hopping(workers=1), hopping(workers=1)
    report = first.start["multistart"]
    assert report["objectives"] == again.start["multistart"]["objectives"]
    objectives = report["objectives"]
    for j, solve in enumerate(report["solves"]):
        if "hop_from" in solve:
            base = solve["hop_from"]
            assert base < j and objectives[base] == min(f for f in objectives[:j] if f == f)
    values = sorted(sum(c) for c in itertools.product(*(well_minima(a) for a in TILTS)))
    assert first.objective == pytest.approx(values[0], abs=1e-8)
    seen = {round(f, 6) for f, ok in zip(objectives, report["succeeded"], strict=True) if ok}
    assert all(min(abs(f - v) for v in values) < 1e-6 for f in seen) and 2 <= len(seen) <= 4
    two, two_again = hopping(workers=2), hopping(workers=2)
    assert two.start["multistart"]["objectives"] == two_again.start["multistart"]["objectives"]
    assert two.objective == pytest.approx(values[0], abs=1e-8)
