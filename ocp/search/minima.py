"""The minima a search's local searches reached: which are distinct, how often each was reached."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ocp.solvers.solution import Solution

DISTINCT_TOLERANCE = 1e-6  # relative difference of objectives counted as another optimum


def converged(solution: Solution) -> bool:
    return bool(solution.success and np.isfinite(solution.objective))


def spread(objectives: Sequence[float], succeeded: Sequence[bool]) -> dict[str, Any]:
    """Best, median, worst and number of distinct optima (objectives more than DISTINCT_TOLERANCE apart,
    relative) over the converged solves."""
    values = np.sort([f for f, ok in zip(objectives, succeeded, strict=True) if ok and np.isfinite(f)])
    if values.size == 0:
        return {"converged": 0, "best": None, "median": None, "worst": None, "distinct": 0}
    return {
        "converged": int(values.size),
        "best": float(values[0]),
        "median": float(np.median(values)),
        "worst": float(values[-1]),
        "distinct": len(hits_per_minimum(values)),
    }


def hits_per_minimum(objectives: Sequence[float]) -> list[int]:
    """How many of ``objectives`` (converged local searches) reached each distinct minimum, best first."""
    values = np.sort(np.asarray([f for f in objectives if np.isfinite(f)], dtype=float))
    if values.size == 0:
        return []
    new = np.diff(values) > DISTINCT_TOLERANCE * np.maximum(1.0, np.abs(values[1:]))
    starts = np.flatnonzero(np.concatenate([[True], new]))
    return np.diff(np.append(starts, values.size)).astype(int).tolist()


def census_of(solutions: Sequence[Solution]) -> tuple[int, int, int]:
    """(local searches that converged, distinct minima among them, how many reached the best)."""
    hits = hits_per_minimum([sol.objective for sol in solutions if converged(sol)])
    return (sum(hits), len(hits), hits[0]) if hits else (0, 0, 0)


def best_of(results: dict[int, Solution], upto: int) -> int | None:
    """Position of the best converged solve among positions < ``upto`` (None if none converged)."""
    done = [j for j, sol in results.items() if j < upto and converged(sol)]
    return min(done, key=lambda j: (results[j].objective, j)) if done else None


def is_better(objective: float, best: float) -> bool:
    """Whether ``objective`` is a new minimum below ``best`` (by more than DISTINCT_TOLERANCE, relative)."""
    return objective < best - DISTINCT_TOLERANCE * max(1.0, abs(best))
