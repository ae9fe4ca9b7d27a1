"""The multi-start's stopping rule on a landscape whose minima are known (`known_problems.double_wells`)."""

import itertools
import os
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from known_problems import double_wells

import ocp
from ocp.search.basins import posterior
from ocp.search.multistart import multistart, random_starts
from ocp.search.plan import PLAN_AHEAD, Hops, plan
from ocp.search.strategies import Initialization, solve_with
from ocp.solvers.records import FirstOrderReport, StartRecord

TILTS = (0.3, -0.2)
METHOD = ocp.MultipleShooting(K=1, integrator=ocp.Euler(1))


def well_minima(a: float) -> list[float]:
    """Values of (u^2 - 1)^2 + a u at its two local minima (the outer real roots of 4u^3 - 4u + a)."""
    roots = np.sort(np.roots([4.0, 0.0, -4.0, a]).real)
    return [(u**2 - 1) ** 2 + a * u for u in (roots[0], roots[2])]


def search(workers: int, starts: int = 200, confidence: float | None = 0.95, max_searches: int | None = None, **where):
    guess = ocp.InitialGuess(controls=np.full((1, len(TILTS)), 0.01))
    return multistart(
        double_wells(TILTS),
        METHOD,
        random_starts(guess, 1, len(TILTS), starts, 1.0, seed=0),
        init=Initialization("simulate"),
        workers=workers,
        confidence=confidence,
        max_searches=max_searches,
        **where,
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


def test_a_search_on_a_dask_cluster_keeps_what_local_processes_keep():
    """The same executor abstraction as the sweeps' (`ocp/executors.py`): on a Dask LocalCluster of 2 workers
    the search decides on the same prefix and returns the same minimum as on 2 local processes."""
    pytest.importorskip("dask.distributed", reason="the dask extra is not installed")
    local, dask = search(workers=2, starts=40), search(workers=2, starts=40, executor="dask")
    a, b = local.start["multistart"], dask.start["multistart"]
    assert (a["local_searches"], a["distinct"], a["best_hits"]) == (b["local_searches"], b["distinct"], b["best_hits"])
    assert dask.objective == pytest.approx(local.objective, rel=1e-12)


def test_a_neighbours_solution_is_the_first_local_search_and_counts_like_one():
    """``warm`` (a sweep's previous point): solved first, warm, from the given solution; counted in the census
    like any local search. From the global minimum it converges at once and the search keeps that minimum;
    from the worst minimum the search still finds the global one, and nothing else of the plan moves:
    the tasks after the warm one are those of a search without it (its starts one index later)."""
    values = sorted(sum(c) for c in itertools.product(*(well_minima(a) for a in TILTS)))
    cold = search(workers=1, starts=40)
    from_best = search(workers=1, starts=40, warm=cold)
    report = from_best.start["multistart"]
    assert report["warm_start"] and report["solves"][0]["start"] == 0
    assert report["solves"][0]["iterations"] <= 3  # warm-started at the minimum: IPOPT only confirms it
    assert from_best.objective == pytest.approx(values[0], abs=1e-8)
    worst_solution = ocp.OCPSolver(double_wells(TILTS), METHOD).solve(
        initial_guess=ocp.InitialGuess(controls=np.array([[1.0, -1.0]]))  # u_i at the well raised by a_i u_i
    )
    assert worst_solution.objective == pytest.approx(values[-1], abs=1e-8)
    from_worst = search(workers=1, starts=40, warm=worst_solution)
    assert from_worst.objective == pytest.approx(values[0], abs=1e-8)
    assert from_worst.start["multistart"]["objectives"][0] == pytest.approx(values[-1], abs=1e-8)
    # the tasks after the warm one: the same starts and strategies as the search without it, one place later
    described = [(d.get("start"), d["strategy"]) for d in cold.start["multistart"]["solves"]]
    shifted = [(d.get("start"), d["strategy"]) for d in from_worst.start["multistart"]["solves"][1:]]
    n = min(len(described), len(shifted), 10)
    assert [(None if i is None else i + 1, s) for i, s in described[:n]] == shifted[:n]


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
    order = [portfolio.next(j, {})[0] for j in range(portfolio.total)]
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
    """Each hop starts from the best converged solve at least PLAN_AHEAD positions before it (all earlier ones
    when none of those converged); the same seed gives the same solves, on one worker or two; every minimum a
    hop reaches is one of the four known ones."""
    first, again = hopping(workers=1), hopping(workers=1)
    report = first.start["multistart"]
    assert report["objectives"] == again.start["multistart"]["objectives"]
    objectives, succeeded = report["objectives"], report["succeeded"]
    hops = 0
    for j, solve in enumerate(report["solves"]):
        if "hop_from" in solve:
            hops += 1
            window = [f for f, ok in zip(objectives[: max(0, j - PLAN_AHEAD + 1)], succeeded, strict=False) if ok]
            window = window or [f for f, ok in zip(objectives[:j], succeeded, strict=False) if ok]
            assert solve["hop_from"] < j and objectives[solve["hop_from"]] == min(window)
    assert hops >= 30  # 4 start tasks, 40 searches
    values = sorted(sum(c) for c in itertools.product(*(well_minima(a) for a in TILTS)))
    assert first.objective == pytest.approx(values[0], abs=1e-8)
    seen = {round(f, 6) for f, ok in zip(objectives, report["succeeded"], strict=True) if ok}
    assert all(min(abs(f - v) for v in values) < 1e-6 for f in seen) and 2 <= len(seen) <= 4
    two, two_again = hopping(workers=2), hopping(workers=2)
    assert two.start["multistart"]["objectives"] == two_again.start["multistart"]["objectives"] == objectives


def converged_at(objective: float) -> SimpleNamespace:
    """What the planner reads of a finished solve: its objective, success and cost."""
    return SimpleNamespace(
        objective=objective, success=True, iterations=5, start=StartRecord(), first_order=FirstOrderReport()
    )


def test_the_plan_probes_with_the_first_strategy_until_two_minima_show():
    """While every search reaches one minimum only the first strategy's start tasks (and hops) run; once a second
    minimum is visible (PLAN_AHEAD positions later) the other strategies' start tasks follow in order."""
    inits = [Initialization("first_order"), Initialization("simulate")]
    planner = plan(6, inits, [], Hops(), 80)
    results = {}
    for j in range(40):
        planner.next(j, results)
        results[j] = converged_at(1.0)
    assert {t.strategy.strategy for t in planner.tasks if not t.is_hop} == {"first_order"}
    assert [t.start for t in planner.tasks if not t.is_hop] == list(range(6))  # every start probed, in order
    for j in range(40, 80):
        planner.next(j, results)
        results[j] = converged_at(0.5 if j == 40 else 1.0)
    late = [(j, t) for j, t in enumerate(planner.tasks) if not t.is_hop and t.strategy.strategy == "simulate"]
    assert late and late[0][0] >= 40 + PLAN_AHEAD and late[0][1].start == 0


_SOLVE = ocp.OCPSolver.solve


def _solve_or_hang(self, *args, **kwargs):
    """OCPSolver.solve, except from a start with controls of 10: then the process hangs (as inside an IPOPT
    iteration that never ends) after writing its pid where the test can find it."""
    guess = kwargs.get("initial_guess")
    if guess is not None and guess.controls is not None and np.max(np.abs(guess.controls)) == 10.0:
        Path(os.environ["HANG_PID_FILE"]).write_text(str(os.getpid()))
        time.sleep(600)
    return _SOLVE(self, *args, **kwargs)


def test_a_solve_stuck_past_its_cutoff_is_given_up_and_its_process_ended(monkeypatch, tmp_path):
    """Worker processes fork with the patched solver; the stuck one is ended, the others' solves are kept."""
    import ocp.search.multistart as multistart_module

    pid_file = tmp_path / "pid"
    monkeypatch.setenv("HANG_PID_FILE", str(pid_file))
    monkeypatch.setattr(ocp.OCPSolver, "solve", _solve_or_hang)
    monkeypatch.setattr(multistart_module, "MIN_PATIENCE_S", 0.5)
    monkeypatch.setattr(multistart_module, "OVERRUN_GRACE_S", 1.0)
    starts = random_starts(ocp.InitialGuess(controls=np.full((1, 2), 0.01)), 1, 2, 6, 1.0, seed=0)
    starts[1] = ocp.InitialGuess(controls=np.full((1, 2), 10.0))
    best = multistart(double_wells(TILTS), METHOD, starts, init=Initialization("simulate"), workers=2, patience=10.0)
    report = best.start["multistart"]
    assert "given up" in report["errors"]["1"] and report["succeeded"] == [True, False, True, True, True, True]
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _solve_or_die(self, *args, **kwargs):
    """OCPSolver.solve, except from a start with controls of 10: then the worker process dies at once (as if
    the system's out-of-memory killer chose it)."""
    guess = kwargs.get("initial_guess")
    if guess is not None and guess.controls is not None and np.max(np.abs(guess.controls)) == 10.0:
        os._exit(9)
    return _SOLVE(self, *args, **kwargs)


def test_a_worker_that_dies_costs_its_solve_and_the_search_goes_on(monkeypatch):
    """A broken pool fails every solve it holds; each is run again alone in a fresh pool, so the one whose
    worker dies again is the error and the innocent ones are solved: the search keeps what a search without
    the deadly start keeps."""
    monkeypatch.setattr(ocp.OCPSolver, "solve", _solve_or_die)
    starts = random_starts(ocp.InitialGuess(controls=np.full((1, 2), 0.01)), 1, 2, 6, 1.0, seed=0)
    starts[1] = ocp.InitialGuess(controls=np.full((1, 2), 10.0))
    best = multistart(double_wells(TILTS), METHOD, starts, init=Initialization("simulate"), workers=2)
    report = best.start["multistart"]
    assert "BrokenProcessPool" in report["errors"]["1"]
    assert report["succeeded"] == [True, False, True, True, True, True]
    serial = multistart(double_wells(TILTS), METHOD, starts[:1] + starts[2:], init=Initialization("simulate"))
    assert best.objective == pytest.approx(serial.objective, rel=1e-10)
