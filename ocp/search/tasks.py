"""One local search of a global search: what it starts from, with which strategy, and why it runs.

Why it runs (`Role`) decides whether the coverage claim counts it (`coverage.py`): only draws, independent
draws of the search's fixed start distribution, are counted. Everything else is an extra candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np

from ocp.errors import ProblemError
from ocp.problem.guess import InitialGuess
from ocp.search.strategies import Initialization
from ocp.solvers.solution import Solution


class Role(StrEnum):
    """Why a local search runs."""

    DRAW = "draw"  # a random start and a strategy from the fixed mixture, seeded by (seed, draw): counted
    GUESS = "guess"  # the caller's own guess (start 0) with a strategy
    WARM = "warm"  # a neighbouring problem's solution (a sweep's previous point), warm-started
    EXTRA = "extra"  # a random start with a strategy the allocation chose from what this search found
    HOP = "hop"  # the best solution so far with its controls moved (basin hopping)
    PORTFOLIO = "portfolio"  # a start task of the fixed portfolio (start ``index`` of the caller's list)


@dataclass(frozen=True)
class Task:
    """One local search: ``index`` numbers the draws (1, 2, ...), the extra starts (1, 2, ...) or, for the
    caller's guess and the portfolio, the caller's starts (0 = the guess); None for a hop or a warm start."""

    strategy: Initialization
    role: Role
    index: int | None = None

    @property
    def is_hop(self) -> bool:
        return self.role == Role.HOP

    @property
    def kind(self) -> str:
        """What patience compares a solve with: hops with hops, starts with starts of the same strategy (a
        plain IPOPT start costs ten first_order probes on two-moons data)."""
        return "hop" if self.is_hop else self.strategy.strategy


@dataclass(frozen=True)
class Hops:
    """Basin hopping from the best solution so far: its controls moved by ``scale`` x their root mean
    square x N(0, 1), seeded by the search's seed and the hop's position, then solved with ``strategy``."""

    scale: float = 1.0
    strategy: Initialization = field(default_factory=lambda: Initialization("first_order"))

    def __post_init__(self) -> None:
        if not self.scale > 0.0:
            raise ProblemError(f"hops scale must be > 0, got {self.scale!r}")


EXTRA_STREAM = 104729  # seeds (seed, EXTRA_STREAM, e) for extra start e: never equal to a draw's (seed, i)
STRATEGY_STREAM = 65537  # seeds (seed, STRATEGY_STREAM, i) for draw i's strategy


def random_guess(base: InitialGuess, shape: tuple[int, int], scale: float, seed_sequence: list[int]) -> InitialGuess:
    """``base`` with controls scale x N(0, 1) of ``shape`` from ``numpy.random.default_rng(seed_sequence)``,
    states to be simulated."""
    controls = np.random.default_rng(seed_sequence).standard_normal(shape) * scale
    return replace(base, controls=controls, states=None)


def draw_strategy(mixture: list[Initialization], seed: int, draw: int) -> Initialization:
    """Draw ``draw``'s strategy: uniform over the mixture, seeded by (seed, STRATEGY_STREAM, draw)."""
    pick = np.random.default_rng([seed, STRATEGY_STREAM, draw]).integers(len(mixture))
    return mixture[int(pick)]


def hop_guess(base: Solution, hops: Hops, seed: int, position: int) -> InitialGuess:
    """The best solution's controls moved by scale x rms x N(0, 1), seeded by (seed, position)."""
    controls = np.asarray(base.controls, dtype=float)
    size = hops.scale * float(np.sqrt(np.mean(controls**2)) or 1.0)
    noise = np.random.default_rng([seed, 7919, position]).standard_normal(controls.shape)
    return InitialGuess(controls=controls + size * noise, free_parameters=dict(base.free_parameters), T=base.T)


def cost(solution: Solution) -> float:
    """What a solve cost, in IPOPT iterations (every stage's) plus 1 per 50 first-order steps and 1 for the
    set-up: a deterministic stand-in for its time, so that choices made on it repeat for a seed."""
    stages = solution.start.stages or [{"iterations": solution.iterations}]
    return 1.0 + sum(stage["iterations"] for stage in stages) + solution.first_order.iterations / 50.0


def labelled(solution: Solution, task: Task, base: int | None) -> Solution:
    """A hop's solution says so in ``start`` (a start's already names its strategy)."""
    if not task.is_hop:
        return solution
    return replace(solution, start=replace(solution.start, strategy=f"hop ({task.strategy.strategy})", hop_from=base))
