"""The typed reports a `Solution` carries beside its arrays: the first-order phase's (`first_order.py`), the
optimality check's (`optimality.py`), how the start was made (`ocp/search/`), the gradient flow's training.

Each is a frozen dataclass: code reads its fields by name (``solution.start.strategy``) and a type checker
knows them. Each also reads as a mapping of its JSON form (`Record.as_dict`), so summary.json, a sweep's
records, a saved solution's metadata and any caller that reads by key (``solution.start["stages"]``) see
the same keys as before these were typed. The fields a record names as ``OPTIONAL`` are not keys of that
form while None, as they were absent from the plain dicts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar


class Record(Mapping):
    """Base of the reports: a frozen dataclass that also reads as a read-only mapping of `as_dict`."""

    OPTIONAL: ClassVar[tuple[str, ...]] = ()  # fields that are no key of `as_dict` while None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN (not computed) becomes None; the OPTIONAL fields that are None are left out."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in self.OPTIONAL:
                continue
            if isinstance(value, Record):  # a nested report (a search's, on a start record)
                value = value.as_dict()
            out[f.name] = None if isinstance(value, float) and math.isnan(value) else value
        return out

    def __getitem__(self, key: str) -> Any:
        return self.as_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_dict())

    def __len__(self) -> int:
        return len(self.as_dict())

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None):
        """The record of a mapping with its keys (a saved solution's metadata, a literal dict); unknown keys
        (written by a later version) are left out, missing ones take their defaults."""
        if isinstance(data, cls):
            return data
        data = data or {}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class StartRecord(Record):
    """How the start of a solve was made (`ocp.search.strategies`, `ocp.search.multistart`).

    strategy : the start strategy, or "hop (first_order)" for a basin hop.
    stages : the solves the strategy ran, the final one last: {stage, objective, iterations, status} each.
    time_s : the strategy's wall time, every stage included.
    hop_from : for a hop, the search position of the solution it started from.
    multistart : on the solution a search returns, the search's report (its solves, the minima it reached,
        what its draws cover; `ocp.search.report.SearchReport`).
    """

    OPTIONAL = ("strategy", "stages", "time_s", "hop_from", "multistart")

    strategy: str | None = None
    stages: list[dict[str, Any]] | None = None
    time_s: float | None = None
    hop_from: int | None = None
    multistart: dict[str, Any] | None = None


@dataclass(frozen=True)
class TrainingRecord(Record):
    """The gradient flow's training (`ocp.solvers.gradient_flow`): the objective at every step, and the
    cost terms at the recorded steps (whose controls are the solution's ``snapshots``)."""

    solver: str
    learning_rate: float
    step_scaling: str
    clip: float | None
    objective: list[float]
    recorded_iterations: list[int]
    recorded_costs: list[dict[str, float]]


@dataclass(frozen=True)
class FirstOrderReport(Record):
    """What the phase did; ``skipped`` names the reason when it did not run."""

    iterations: int = 0
    evaluations: int = 0
    method: str = ""  # "L-BFGS-B" or "Adam"
    time_s: float = 0.0
    objective_start: float = float("nan")
    objective_end: float = float("nan")
    message: str = ""
    skipped: str = ""


@dataclass(frozen=True)
class OptimalityReport(Record):
    """The check of a returned point (`optimality.py`): the reduced Hessian's extreme eigenvalues, whether
    it is positive definite, the gap a few first-order steps open; ``skipped`` says why it did not run.
    ``stationarity``: the largest entry of the Lagrangian's gradient, from a solver that stops on it
    (`gauss_newton.py`), NaN otherwise."""

    smallest_eigenvalue: float = float("nan")
    largest_eigenvalue: float = float("nan")
    second_order_ok: bool | None = None
    first_order_gap: float = float("nan")
    stationarity: float = float("nan")
    warning: str = ""
    skipped: str = ""
    time_s: float = 0.0


@dataclass(frozen=True)
class MaximumPrincipleReport(Record):
    """The maximum principle at the returned point (`maximum_principle.py`): dH/dU from the costates.

    residual : max over intervals of ||dH_k/dU|| (0 at an exact stationary point of a free control);
        ``residual_per_interval`` each interval's. scale : max ||df/dU_k|| (e.g. ||2 lambda h U_k||), what the
        residual is small against. switching : with L1 costs, dH_k/dU / h_k per interval (K, nu), to compare
        with the band [-weight, weight] where the control is 0. condensed_gradient, difference : max
        ||dJ/dU_k|| of the condensed objective (no multipliers) and max ||dH_k/dU - dJ/dU_k||, or
        ``comparison_skipped`` says why not. skipped : why there is no report.
    """

    OPTIONAL = ("residual_per_interval", "switching")

    residual: float = float("nan")
    scale: float = float("nan")
    residual_per_interval: list[float] | None = None
    switching: list[list[float]] | None = None
    condensed_gradient: float = float("nan")
    difference: float = float("nan")
    comparison_skipped: str = ""
    skipped: str = ""
    time_s: float = 0.0


@dataclass(frozen=True)
class StabilityReport(Record):
    """Does the integrator integrate the ODE (`stability.py`, `resolution.py`)?

    integrator, steps : the method and its sub-steps per interval. bound : the largest h |lambda| it keeps
    stable on the negative real axis. guess, solution : the largest h x (spectral radius of df/dx) over
    members and intervals, at the start IPOPT was given and at its answer (h: the sub-step); member and
    interval : where the latter is largest. stable : both within the bound. advice : what to change when
    not. For an implicit integrator (A-stable: no bound), newton_residual_guess and newton_residual are the
    largest stage residuals its Newton iterations leave, and stable says they converged at the solution.
    For direct collocation (`resolution.py`), guess and solution are h x the spectral radius over one
    element, resimulated_difference the largest difference of its node states from an RK4 re-simulation
    of its controls (``reference`` names it, or says why there is none), relative to the largest state,
    and stable says it is within the tolerance (None: not measured). skipped : why there is no check.
    """

    integrator: str = ""
    steps: int = 0
    bound: float = float("nan")
    guess: float = float("nan")
    solution: float = float("nan")
    member: int = -1
    interval: int = -1
    stable: bool | None = None
    advice: str = ""
    skipped: str = ""
    newton_residual_guess: float = float("nan")
    newton_residual: float = float("nan")
    resimulated_difference: float = float("nan")
    reference: str = ""
