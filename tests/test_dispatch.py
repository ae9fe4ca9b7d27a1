"""One dispatch path (`ocp/dispatch.py`): a job lost with a dead worker runs again alone, and only the job
that dies alone is failed; the time-limit rule."""

from __future__ import annotations

import os
import time

import pytest
from known_problems import steering

import ocp
from ocp.dispatch import MIN_TIME_LIMIT_S, Deadline, Dispatch, Handed, WorkerSolvers, time_limit
from ocp.executors import InProcess, LocalProcesses


def _job(name: str) -> str:
    """A job that ends its own worker process when it is the deadly one."""
    if name == "deadly":
        time.sleep(0.3)
        os._exit(1)
    time.sleep(1.5)  # still running when the deadly one ends its worker: lost with the pool
    return name.upper()


def _drain(jobs: Dispatch) -> tuple[dict, dict, list]:
    done, failed, order = {}, {}, []
    deadline = time.monotonic() + 120
    while (jobs.handed or jobs.suspects) and time.monotonic() < deadline:
        jobs.run_suspect_alone()
        for handed, result, err in jobs.collect(timeout=1.0):
            order.append(handed.key)
            if err is None:
                done[handed.key] = result
            else:
                failed[handed.key] = type(err).__name__
    return done, failed, order


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(), reason="forks workers")
def test_only_the_job_that_dies_alone_is_failed():
    pool = LocalProcesses(2, start="fork")
    lost = []
    jobs = Dispatch(pool, _job, on_lost=lambda handed, err: lost.append(handed.key))
    try:
        jobs.submit("innocent", "innocent")
        jobs.submit("deadly", "deadly")
        done, failed, _ = _drain(jobs)
    finally:
        pool.abort()
        pool.close()
    assert done == {"innocent": "INNOCENT"}  # lost with the dying pool, then solved alone
    assert failed == {"deadly": "BrokenProcessPool"}  # died again while it ran alone
    assert sorted(lost) == ["deadly", "innocent"]  # both were lost once: neither was failed for it


def test_a_job_that_raises_is_failed_at_once_and_not_run_again():
    calls = []

    def flaky(x):
        calls.append(x)
        raise ValueError("a failure of the job's own")

    jobs = Dispatch(InProcess(), flaky)
    jobs.submit("a", 1)
    done, failed, _ = _drain(jobs)
    assert done == {} and failed == {"a": "ValueError"} and calls == [1]


def test_while_a_lost_job_waits_or_runs_alone_nothing_else_is_handed_out():
    jobs = Dispatch(InProcess(), str)
    jobs.suspects.append(Handed("x", (5,), retries=1))  # as `lost` queues it
    assert jobs.run_suspect_alone() is True  # handed out alone; the caller hands out nothing more
    assert jobs.running() == ["x"]
    assert [(h.key, result) for h, result, _ in jobs.collect()] == [("x", "5")]
    assert jobs.run_suspect_alone() is False  # nothing waits: the caller goes on


def test_the_time_limit_is_a_factor_of_the_typical_duration_with_a_floor():
    assert time_limit(10.0, 2.0) == 20.0
    assert time_limit(2.0, 0.1) == MIN_TIME_LIMIT_S  # short solves: their durations are mostly noise
    assert time_limit(1.0, MIN_TIME_LIMIT_S) == MIN_TIME_LIMIT_S


def test_a_worker_builds_once_per_key_and_drops_the_oldest_build_beyond_its_size():
    solvers, builds = WorkerSolvers(size=2), []

    def build(name):
        def make(stop_when):
            builds.append(name)
            return (name, stop_when)

        return make

    first, built = solvers.get("a", build("a"))
    assert built and first == ("a", solvers.deadline.passed)  # every build stops on the worker's deadline
    assert solvers.get("a", build("a")) == (first, False) and builds == ["a"]
    solvers.get("b", build("b"))
    solvers.get("a", build("a"))  # a is now the most recently used
    solvers.get("c", build("c"))  # beyond size 2: b, the oldest, goes
    assert "a" in solvers and "c" in solvers and "b" not in solvers and builds == ["a", "b", "c"]


def test_the_deadline_stops_a_solve_only_while_it_runs_and_reads_a_moving_limit():
    deadline = Deadline()
    assert not deadline.passed()  # outside `running`: no limit
    with deadline.running(0.0):
        time.sleep(0.01)
        assert deadline.passed()
    assert not deadline.passed()
    limit = [0.0]
    with deadline.running(lambda: limit[0]):
        time.sleep(0.01)
        assert deadline.passed()
        limit[0] = 60.0  # the search's patience moved the cutoff while the solve ran
        assert not deadline.passed()


def test_a_solver_from_the_worker_cache_is_stopped_by_its_deadline():
    problem = steering(T=2.0, lam=0.5)
    solvers, method = WorkerSolvers(size=1), ocp.MultipleShooting(K=10, integrator=ocp.Euler())
    options = ocp.SolverOptions(first_order_iterations=0, check_optimality=False)
    solver, _ = solvers.get("steering", lambda stop_when: ocp.OCPSolver(problem, method, options, stop_when=stop_when))
    with solvers.deadline.running(-1.0):  # already past: stopped at the first iterate
        stopped = solver.solve(parameters={"lam": 0.5})
    assert stopped.status == "User_Requested_Stop"
    solved = solver.solve(parameters={"lam": 0.5})  # outside the block: no limit
    assert solved.success and solved.objective == pytest.approx(0.5 / 2.5, rel=1e-8)
