"""Initialisation strategies: how the point the final IPOPT solve starts from is made.

IPOPT returns the KKT point nearest (in its own sense) to its start, so the
start decides which local optimum a learning problem ends in. Each strategy
ends with one IPOPT solve of the requested problem; the stages before it only
make its start:

- ``first_order`` (default): the guess, then L-BFGS-B on the condensed
  objective (`first_order.py`), then IPOPT.
- ``adam``: the guess, then ``iterations`` Adam steps of size
  ``learning_rate`` on the condensed objective, then IPOPT. Adam's
  momentum-carried steps cross small barriers that L-BFGS-B stops at, so it
  ends in other (on some instances better) basins than ``first_order``.
- ``simulate``: IPOPT straight from the guess with its states simulated.
- ``coarse_grid``: solve on K / 2^(stages-1), ..., K / 2 intervals, the
  controls of each sampled onto the next grid and the states simulated
  (interpolated states are not feasible, and IPOPT diverged from them on XOR);
  the final IPOPT solve starts from there (uniform grids only).
- ``continuation_T``: solve with T/stages, 2T/stages, ..., T; each stage
  starts from the previous controls on the normalised grid (fixed T only).
- ``continuation_parameter``: a fixed parameter (e.g. ``lambda``) from
  factor^(stages-1) times its value down to its value; with no ``parameter``
  named, the problem's one parameter marked ``continuation``.

Only the first stage runs the first-order start (when the solver's options
enable it); later stages start IPOPT from the previous stage. Which strategy
finds the best optimum is measured in `benchmarks/README.md`.

Each strategy is a `Strategy` object in ``STRATEGIES`` (its run, when it
applies, whether only the first-order phase sets it apart from simulate);
adding one means a function here, its name in ``StrategyName`` (the config
validator reads it) and its entry in the table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

import numpy as np

from ocp.errors import ProblemError
from ocp.options import at_least, check_fields, positive
from ocp.problem.guess import InitialGuess
from ocp.problem.problem import Problem
from ocp.solvers.first_order import Adam, inapplicable_reason
from ocp.solvers.ipopt import OCPSolver
from ocp.solvers.records import StartRecord
from ocp.solvers.solution import Solution

StrategyName = Literal["first_order", "adam", "simulate", "coarse_grid", "continuation_T", "continuation_parameter"]


@dataclass(frozen=True)
class Initialization:
    """A strategy by name and its settings (see the module docstring)."""

    strategy: StrategyName = "first_order"
    stages: int = at_least(1, 3)  # coarse_grid and continuation: solves including the final one
    factor: float = positive(10.0)  # continuation_parameter: ratio of consecutive parameter values
    parameter: str = ""  # continuation_parameter: the fixed parameter's name ("": the problem's marked one)
    iterations: int = at_least(1, 300)  # adam: Adam steps before IPOPT
    learning_rate: float = positive(1e-2)  # adam: step size, in the units of the controls

    def __post_init__(self) -> None:
        check_fields(self, "initialization")
        if self.strategy == "continuation_parameter" and not self.factor > 1.0:
            raise ProblemError(f"initialization factor must be > 1, got {self.factor!r}")


def solve_with(
    solver: OCPSolver,
    init: Initialization = Initialization(),
    *,
    parameters: Mapping[str, Any] | None = None,
    T: float | None = None,
    initial_guess: InitialGuess | None = None,
) -> Solution:
    """Solve with ``solver`` after the stages of ``init``; the solution's ``start`` records them."""
    parameters = dict(parameters or {})
    guess = initial_guess or InitialGuess()
    begin = time.perf_counter()
    stages: list[dict[str, Any]] = []

    def record(label: str, sol: Solution) -> Solution:
        stages.append({"stage": label, "objective": sol.objective, "iterations": sol.iterations, "status": sol.status})
        return sol

    final = STRATEGIES[init.strategy].run(solver, init, parameters, T, guess, record)
    record("final", final)
    return replace(final, start=StartRecord(init.strategy, stages, time.perf_counter() - begin))


def _first_order(solver: OCPSolver, init: Initialization, parameters, T, guess: InitialGuess, record) -> Solution:
    return solver.solve(parameters=parameters, T=T, initial_guess=guess)


def _simulate(solver: OCPSolver, init: Initialization, parameters, T, guess: InitialGuess, record) -> Solution:
    return solver.solve(parameters=parameters, T=T, initial_guess=guess, first_order_iterations=0)


def _adam(solver: OCPSolver, init: Initialization, parameters, T, guess: InitialGuess, record) -> Solution:
    return solver.solve(
        parameters=parameters,
        T=T,
        initial_guess=guess,
        first_order_iterations=init.iterations,
        descent=Adam(init.learning_rate),
    )


def _coarse_grid(solver: OCPSolver, init: Initialization, parameters, T, guess: InitialGuess, record) -> Solution:
    stages = init.stages
    method = solver.method
    if method.grid is not None:
        raise ProblemError("initialization 'coarse_grid' needs a uniform grid (method.grid = None)")
    if _tied_to_K(solver.problem):
        raise ProblemError(
            "initialization 'coarse_grid' cannot coarsen a problem with interval sizes or per-interval parameters "
            "(they hold one entry per interval of K)"
        )
    grids = sorted({max(1, method.K // 2**j) for j in range(1, stages)})
    previous, K_previous = guess, method.K
    for K in [*grids, method.K]:
        start = _resampled(previous, K_previous, K)
        stage = solver
        if K != method.K:
            stage = OCPSolver(solver.problem, replace(method, K=K), replace(solver.options, check_optimality=False))
        first_order = None if K == grids[0] or not grids else 0
        sol = stage.solve(parameters=parameters, T=T, initial_guess=start, first_order_iterations=first_order)
        if K != method.K:
            record(f"K={K}", sol)
        previous = InitialGuess(controls=sol.controls, free_parameters=dict(sol.free_parameters), T=sol.T)
        K_previous = K
    return sol


def _resampled(guess: InitialGuess, K_from: int, K_to: int) -> InitialGuess:
    """The guess's controls (K_from, nu) sampled at the midpoints of K_to intervals; states to be simulated."""
    controls = None if guess.controls is None else np.asarray(guess.controls, dtype=float)
    if controls is not None and controls.ndim == 2 and controls.shape[0] == K_from:
        controls = controls[((np.arange(K_to) + 0.5) * K_from / K_to).astype(int)]
    return replace(guess, controls=controls, states=None)


def _continuation(solver: OCPSolver, init: Initialization, parameters, T, guess: InitialGuess, record) -> Solution:
    if init.strategy == "continuation_T":
        if solver.problem.horizon.free:
            raise ProblemError("initialization 'continuation_T' needs a fixed horizon (the final time is free here)")
        target = solver.problem.horizon.T if T is None else float(T)
        steps = [({}, target * (j + 1) / init.stages) for j in range(init.stages)]
    else:
        name = continuation_parameter(solver.problem, init)
        spec = next(p for p in solver.problem.parameters if p.name == name)
        target = np.asarray(parameters.get(name, spec.value), dtype=float)
        factors = [init.factor ** (init.stages - 1 - j) for j in range(init.stages)]
        steps = [({name: target * f}, T) for f in factors]
    sol: Solution | None = None
    for j, (changed, T_j) in enumerate(steps):
        start = guess if sol is None else InitialGuess(controls=sol.controls, free_parameters=dict(sol.free_parameters))
        sol = solver.solve(
            parameters={**parameters, **changed},
            T=T_j,
            initial_guess=start,
            first_order_iterations=None if j == 0 else 0,
            check_optimality=False if j < len(steps) - 1 else None,  # only the final solve is the answer
        )
        if j < len(steps) - 1:
            label = f"T={T_j:g}" if init.strategy == "continuation_T" else f"{name}={target * factors[j]}"
            record(label, sol)
    return sol


def continuation_parameter(problem: Problem, init: Initialization) -> str:
    """The parameter ``init`` continues in: the one it names, else the problem's one marked ``continuation``."""
    names = [p.name for p in problem.parameters]
    if init.parameter:
        if init.parameter not in names:
            raise ProblemError(f"continuation parameter {init.parameter!r} is not a fixed parameter; have {names}")
        return init.parameter
    marked = [p.name for p in problem.parameters if p.continuation]
    if len(marked) != 1:
        raise ProblemError(
            "initialization 'continuation_parameter' names no parameter and the problem marks "
            f"{len(marked)} for continuation; set initialization.parameter to one of {names}"
        )
    return marked[0]


def _tied_to_K(problem: Problem) -> bool:
    return problem.interval_sizes is not None or problem.has_interval_parameters


def _names_a_parameter(problem: Problem, init: Initialization) -> bool:
    try:
        continuation_parameter(problem, init)
    except ProblemError:
        return False
    return True


@dataclass(frozen=True)
class Strategy:
    """How a strategy runs (``run(solver, init, parameters, T, guess, record) -> Solution``; ``record(label,
    solution)`` keeps the stages before the final solve), where it applies without naming more, and whether
    only the first-order phase before IPOPT sets it apart from simulate."""

    run: Callable[..., Solution]
    applies: Callable[[Problem, Initialization], bool] = lambda problem, init: True
    phase_only: bool = False


STRATEGIES: dict[str, Strategy] = {
    "first_order": Strategy(_first_order, phase_only=True),
    "adam": Strategy(_adam, phase_only=True),
    "simulate": Strategy(_simulate),
    "coarse_grid": Strategy(_coarse_grid, applies=lambda problem, init: not _tied_to_K(problem)),
    "continuation_T": Strategy(_continuation),
    "continuation_parameter": Strategy(_continuation, applies=_names_a_parameter),
}
if tuple(STRATEGIES) != get_args(StrategyName):  # the config validator reads StrategyName
    raise RuntimeError("StrategyName and STRATEGIES must name the same strategies")
PHASE_STRATEGIES = tuple(name for name, strategy in STRATEGIES.items() if strategy.phase_only)


def applicable(problem: Problem, init: Initialization) -> bool:
    """Whether ``init`` can run on ``problem`` without naming more (a marked parameter to continue in)."""
    return STRATEGIES[init.strategy].applies(problem, init)


def effective_strategies(
    init: Initialization | Sequence[Initialization] | None, problem: Problem
) -> list[Initialization]:
    """The strategies to solve each start with. Where the first-order phase cannot run (`first_order.py`),
    first_order and adam start IPOPT from the guess exactly as simulate does, so they collapse into one
    simulate instead of solving every start two or three times over."""
    inits = [Initialization()] if init is None else [init] if isinstance(init, Initialization) else list(init)
    if not inits:
        raise ProblemError("multistart needs at least one initialization strategy")
    if inapplicable_reason(problem):
        same = [Initialization("simulate") if i.strategy in PHASE_STRATEGIES else i for i in inits]
        inits = list(dict.fromkeys(same))  # Initialization is frozen, so hashable: keeps the first of equals
    return inits


def first_start_strategies(
    first_start: Sequence[Initialization], inits: Sequence[Initialization], problem: Problem
) -> list[Initialization]:
    """The ``first_start`` strategies that add a solve: those that can run on ``problem`` and are not
    already among ``inits`` (every start's strategies)."""
    return [strategy for strategy in first_start if applicable(problem, strategy) and strategy not in inits]
