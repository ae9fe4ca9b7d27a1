"""Multi-start: n starts solved in worker processes, the best kept, the spread reported.

Learning problems have many local optima, and which one IPOPT returns depends
on the start (`strategies.py`). Start 0 is the caller's guess, so one start is
exactly a plain solve; start i >= 1 draws controls scale x N(0, 1) from
``numpy.random.default_rng([seed, i])``, so every start is reproducible on its
own. Each worker process builds the NLP once (the problem travels pickled in
CasADi's pickle context) and solves the starts it is given.

The spread says how rugged the problem is: best, median and worst objective of
the converged starts and how many distinct optima they reached (objectives
that differ by more than 1e-6 relative).
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from multiprocessing import get_context
from typing import Any

import casadi as ca
import numpy as np

from .errors import ProblemError, SolveError
from .guess import InitialGuess
from .method import MultipleShooting
from .problem import Problem
from .solution import Solution
from .solver import OCPSolver, SolverOptions
from .strategies import Initialization, solve_with

DISTINCT_TOLERANCE = 1e-6  # relative difference of objectives counted as another optimum


def random_starts(base: InitialGuess | None, K: int, nu: int, n: int, scale: float, seed: int) -> list[InitialGuess]:
    """``base`` followed by n - 1 guesses with controls scale x N(0, 1), (K, nu), seeded by (seed, i)."""
    if not isinstance(n, int) or n < 1:
        raise ProblemError(f"multistart starts must be an integer >= 1, got {n!r}")
    if not scale >= 0:
        raise ProblemError(f"multistart scale must be >= 0, got {scale!r}")
    base = base or InitialGuess()
    draws = [np.random.default_rng([seed, i]).standard_normal((K, nu)) * scale for i in range(1, n)]
    return [base, *(replace(base, controls=u, states=None) for u in draws)]


def spread(objectives: Sequence[float], succeeded: Sequence[bool]) -> dict[str, Any]:
    """Best, median, worst and number of distinct optima over the converged starts."""
    converged = np.sort([f for f, ok in zip(objectives, succeeded, strict=True) if ok and np.isfinite(f)])
    if converged.size == 0:
        return {"converged": 0, "best": None, "median": None, "worst": None, "distinct": 0}
    gaps = np.diff(converged) > DISTINCT_TOLERANCE * np.maximum(1.0, np.abs(converged[1:]))
    return {
        "converged": int(converged.size),
        "best": float(converged[0]),
        "median": float(np.median(converged)),
        "worst": float(converged[-1]),
        "distinct": int(1 + gaps.sum()),
    }


def multistart(
    problem: Problem,
    method: MultipleShooting,
    starts: Sequence[InitialGuess],
    options: SolverOptions | None = None,
    *,
    init: Initialization | None = None,
    parameters: Mapping[str, Any] | None = None,
    T: float | None = None,
    workers: int | None = None,
    progress: Callable[[int, Solution], None] | None = None,
) -> Solution:
    """Solve from every start (with strategy ``init``) and return the best solution.

    ``workers``: processes (default: one per core; 1 solves in this process;
    forked on Linux, spawned elsewhere).
    ``progress(i, solution)`` is called as each start finishes. The returned
    solution's ``start["multistart"]`` holds every start's objective and the
    `spread`. Raises `SolveError` when no start produced a solution.
    """
    options = options or SolverOptions()
    workers = min(len(starts), workers or os.cpu_count() or 1)
    begin = time.perf_counter()
    task = {"init": init or Initialization(), "parameters": dict(parameters or {}), "T": T}
    results: dict[int, Solution] = {}
    errors: dict[int, str] = {}
    if workers <= 1:
        solver = OCPSolver(problem, method, options)
        for i, guess in enumerate(starts):
            results[i] = _solve_start(guess, task, solver)
            if progress:
                progress(i, results[i])
    else:
        with ca.global_pickle_context():
            payload = pickle.dumps((problem, method, options))
        pool = ProcessPoolExecutor(workers, mp_context=_context(), initializer=_init, initargs=(payload,))
        with pool:
            futures = {pool.submit(_solve_start, guess, task): i for i, guess in enumerate(starts)}
            for future in as_completed(futures):
                i = futures[future]
                try:
                    results[i] = future.result()
                except (BrokenProcessPool, SolveError, RuntimeError) as err:  # one start lost, the others go on
                    errors[i] = f"{type(err).__name__}: {err}"
                    continue
                if progress:
                    progress(i, results[i])
    if not results:
        raise SolveError(f"multi-start: no start produced a solution ({'; '.join(sorted(set(errors.values())))})")
    objectives = [results[i].objective if i in results else float("nan") for i in range(len(starts))]
    succeeded = [i in results and results[i].success for i in range(len(starts))]
    ranked = sorted(results, key=lambda i: (not results[i].success, results[i].objective))
    best = results[ranked[0]]
    report = {
        "starts": len(starts),
        "workers": workers,
        "best_start": ranked[0],
        "objectives": objectives,
        "succeeded": succeeded,
        "errors": {str(i): e for i, e in errors.items()},
        "time_s": time.perf_counter() - begin,
        **spread(objectives, succeeded),
    }
    return replace(best, start={**best.start, "multistart": report})


def _context():
    """fork where the platform has it (no ``if __name__ == '__main__'`` needed in the caller's script),
    else spawn (then the caller's script needs that guard, as for any multiprocessing code)."""
    import multiprocessing

    return get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")


_WORKER: dict[str, OCPSolver] = {}  # the solver of this process, built once


def _init(payload: bytes) -> None:
    with ca.global_unpickle_context():
        problem, method, options = pickle.loads(payload)
    _WORKER["solver"] = OCPSolver(problem, method, options)


def _solve_start(guess: InitialGuess, task: dict[str, Any], solver: OCPSolver | None = None) -> Solution:
    return solve_with(
        solver or _WORKER["solver"], task["init"], parameters=task["parameters"], T=task["T"], initial_guess=guess
    )
