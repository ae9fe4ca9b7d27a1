"""Problem types the CLI can solve, found through the ``ocp.problems`` entry points.

A package registers a type in its ``pyproject.toml``::

    [project.entry-points."ocp.problems"]
    my_problem = "my_package.module:PROBLEM_TYPE"

where ``PROBLEM_TYPE`` satisfies the `ProblemType` protocol below. The ``ocp``
package never imports a problem package directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from ocp.errors import ConfigError
from ocp.problem.guess import InitialGuess
from ocp.problem.problem import Problem
from ocp.run.settings import RunSettings
from ocp.solvers.solution import Solution

GROUP = "ocp.problems"

Context = TypeVar("Context")  # a problem type's own record of what it built (its data, symbols, settings)


@dataclass(frozen=True)
class Setup(Generic[Context]):
    """What a problem type builds from a config: the problem, a start, and its own ``context``, which only
    the type's ``report`` reads (the ``ocp`` layer passes it through; a type annotates ``Setup[ItsContext]``)."""

    problem: Problem
    initial_guess: InitialGuess | None = None
    context: Context | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    # the run settings completed from the data (timeseries: T and the grid of the observation times), which
    # the solve then uses; None: the config's as they are
    run: RunSettings | None = None


class ProblemType(Protocol):
    """The contract a registered problem type fulfils.

    1. ``settings`` is a frozen dataclass of the config keys the type owns (every
       top-level key not in `RunSettings`); `ocp.run.config.parse` validates them.
    2. ``build`` turns validated settings into a `Setup` without solving; bad
       input (e.g. a missing data file) raises `ConfigError` naming the field.
    3. ``report`` receives the solution, returns extra ``summary.json`` fields and
       may write plots into ``out_dir``.
    4. Optional: ``sweep_report(records, axes, out_dir)`` receives the records of
       a sweep's solved points (each holds the swept fields and the fields
       ``report`` returned), may write figures into ``out_dir``, and returns
       the sweep's fits; a ``lines`` list in it is printed (`ocp.sweep`).
    """

    name: str
    description: str
    settings: type

    def build(self, settings: Any, run: RunSettings) -> Setup: ...

    def report(self, setup: Setup, run: RunSettings, solution: Solution, out_dir: Path) -> dict[str, Any]: ...


def problem_types() -> dict[str, ProblemType]:
    """Every registered problem type, by name."""
    return {ep.name: ep.load() for ep in entry_points(group=GROUP)}


def get(name: str) -> ProblemType:
    types_ = problem_types()
    if name not in types_:
        raise ConfigError(
            f"'problem': unknown problem type {name!r}; registered types: {', '.join(sorted(types_)) or 'none'}"
        )
    return types_[name]
