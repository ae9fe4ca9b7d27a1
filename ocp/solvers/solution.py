"""The immutable result of a solve, and its file format.

File format (``save``/``load``): one ``.npz`` archive, readable with plain
numpy (``np.load(path)``, no pickle). Arrays: ``t`` (K+1,), ``states``
(N, K+1, nx), ``controls`` (K, nu), ``primal`` (n_w,), ``multipliers_x``
(n_w,), ``multipliers_g`` (n_g,), ``snapshots`` (n_records, K, nu) (gradient
flow only, else empty), ``free_parameter__NAME`` and
``parameter__NAME`` for each parameter; ``metadata`` is a JSON string with
every scalar field (status, costs, timings, T, ...).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ocp.files import write_npz_atomic
from ocp.solvers.records import (
    FirstOrderReport,
    MaximumPrincipleReport,
    OptimalityReport,
    StabilityReport,
    StartRecord,
    TrainingRecord,
)
from ocp.solvers.status import Status

_ARRAYS = (
    "t",
    "states",
    "controls",
    "primal",
    "multipliers_x",
    "multipliers_g",
    "snapshots",
    "costates",
    "collocation_states",
    "collocation_points",
)
FORMAT_VERSION = 1


def _frozen(a: Any) -> np.ndarray:
    arr = np.array(a, dtype=float)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True)
class Solution:
    """What a solve produced.

    Attributes
    ----------
    t : (K+1,) node times.  states : (N, K+1, nx), one trajectory per member.
    controls : (K, nu), control on each interval (piecewise constant).
    costs : each named cost term's value; ``objective`` is their sum.
    constraint_violation : max violation of constraints and bounds at the result.
    status : how the solve ended (`Status`: IPOPT's return code, the gradient flow's, ...; it compares
        equal to the code string); ``message`` says it in words; ``success``.
    solve_time_s : everything after the build: the first-order start and IPOPT.
    timings : IPOPT's own timers (``t_wall_*``).
    The reports are typed records (`ocp/solvers/records.py`), read by field or, as in summary.json, by key:
    first_order : `FirstOrderReport`, what the first-order start (L-BFGS-B or Adam) did.
    optimality : `OptimalityReport`, the check of the returned point: ``second_order_ok``,
        ``smallest_eigenvalue``, ``first_order_gap``, ``warning``.
    start : `StartRecord`, how the start was made when a strategy or a search produced the solution:
        ``strategy``, ``stages``, ``time_s``, and ``multistart`` (the search's report).
    training : `TrainingRecord`, the gradient flow's objective per iteration, recorded iterations and
        their cost terms (``snapshots`` holds the controls at those iterations); None for IPOPT.
    stability : `StabilityReport`, an explicit integrator's h x spectral radius of df/dx against its
        stability bound, at the guess and at the solution (`stability.py`).
    collocation_states : (N, K, M s, nx), a direct collocation's state values at the M s collocation points
        of each interval (``collocation_points`` on (0, 1], element by element; ``collocation_elements``
        M); empty for multiple shooting. `state_at` evaluates the state polynomials through them anywhere.
    nlp_key : the NLP that produced ``primal`` and the multipliers (`fingerprint.nlp_key`; '' where none
        did): an `OCPSolver` warm-starts from a solution with its own key and interpolates any other.
    """

    t: np.ndarray
    states: np.ndarray
    controls: np.ndarray
    T: float
    costs: Mapping[str, float]
    objective: float
    constraint_violation: float
    status: Status
    message: str
    success: bool
    iterations: int
    build_time_s: float
    solve_time_s: float
    free_parameters: Mapping[str, np.ndarray] = field(default_factory=dict)
    parameters: Mapping[str, np.ndarray] = field(default_factory=dict)
    primal: np.ndarray = field(default_factory=lambda: np.zeros(0))
    multipliers_x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    multipliers_g: np.ndarray = field(default_factory=lambda: np.zeros(0))
    timings: Mapping[str, float] = field(default_factory=dict)
    first_order: FirstOrderReport = field(default_factory=FirstOrderReport)
    optimality: OptimalityReport = field(default_factory=OptimalityReport)
    start: StartRecord = field(default_factory=StartRecord)
    training: TrainingRecord | None = None
    snapshots: np.ndarray = field(default_factory=lambda: np.zeros(0))
    nlp_key: str = ""
    costates: np.ndarray = field(default_factory=lambda: np.zeros(0))
    maximum_principle: MaximumPrincipleReport = field(
        default_factory=lambda: MaximumPrincipleReport(skipped="no multipliers: not an IPOPT solve")
    )
    stability: StabilityReport = field(default_factory=lambda: StabilityReport(skipped="not checked"))
    collocation_states: np.ndarray = field(default_factory=lambda: np.zeros(0))
    collocation_points: np.ndarray = field(default_factory=lambda: np.zeros(0))
    collocation_elements: int = 1

    def __post_init__(self) -> None:
        for name in _ARRAYS:
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        for name in ("free_parameters", "parameters"):
            object.__setattr__(self, name, {k: _frozen(v) for k, v in getattr(self, name).items()})
        object.__setattr__(self, "costs", {k: float(v) for k, v in self.costs.items()})
        object.__setattr__(self, "status", Status(self.status))  # a code read from a file becomes a Status
        # the reports as typed records, also when given as mappings (a saved file's metadata, a literal dict)
        for name, record in (
            ("first_order", FirstOrderReport),
            ("optimality", OptimalityReport),
            ("start", StartRecord),
            ("maximum_principle", MaximumPrincipleReport),
            ("stability", StabilityReport),
        ):
            object.__setattr__(self, name, record.from_mapping(getattr(self, name)))
        object.__setattr__(self, "training", TrainingRecord.from_mapping(self.training) if self.training else None)

    @property
    def K(self) -> int:
        return self.controls.shape[0]

    @property
    def N(self) -> int:
        return self.states.shape[0]

    def state_at(self, t: float) -> np.ndarray:
        """(N, nx) the states at time t in [0, T]: a direct collocation's state polynomial on t's interval
        (through the node and the collocation points). A multiple-shooting solution knows its states at the
        nodes only (simulate its controls for more), and raises `ProblemError` unless t is a node."""
        from ocp.errors import ProblemError
        from ocp.problem.integrators import lagrange_basis

        if not 0.0 <= t <= self.T * (1 + 1e-12):
            raise ProblemError(f"state_at: t = {t} is outside [0, T = {self.T}]")
        k = int(min(np.searchsorted(self.t, t, side="right") - 1, self.K - 1))
        tau = (t - self.t[k]) / (self.t[k + 1] - self.t[k])
        if self.collocation_states.size == 0:
            node = np.flatnonzero(np.isclose(self.t, t, rtol=0, atol=1e-12 * max(1.0, self.T)))
            if node.size:
                return np.array(self.states[:, node[0]])
            raise ProblemError("state_at between nodes needs a direct collocation solution (its polynomial)")
        M = self.collocation_elements
        s = self.collocation_points.size // M
        element = np.concatenate([[0.0], self.collocation_points[:s] * M])  # one element's [0, c_1 .. c_s]
        basis = [lagrange_basis(element, j) for j in range(s + 1)]
        start, m = self.states[:, k], int(min(tau * M, M - 1))
        for e in range(m + 1):  # each element starts where the one before ends
            values = [start, *np.moveaxis(self.collocation_states[:, k, e * s : (e + 1) * s], 1, 0)]
            local = tau * M - e if e == m else 1.0
            start = sum(basis[j](local) * values[j] for j in range(s + 1))
        return start

    def control_norm(self) -> np.ndarray:
        """(K,) Euclidean norm of the control on each interval."""
        return np.linalg.norm(self.controls, axis=1)

    def plot(self, path: str | os.PathLike | None = None):
        """States and controls over time (a matplotlib figure; written to ``path`` if given)."""
        from ocp.plotting import plot_solution

        return plot_solution(self, path)

    def scalars(self) -> dict[str, Any]:
        """What the solve came to, in one mapping of scalars (and the costs by name): where a solve's
        summary.json (`ocp/cli.py`) and a sweep point's record (`ocp/sweep/runner.py`) both start."""
        return {
            "status": self.status,
            "message": self.message,
            "success": self.success,
            "objective": self.objective,
            "costs": dict(self.costs),
            "iterations": self.iterations,  # the solver's: IPOPT iterations, or gradient steps
            "first_order_iterations": self.first_order.iterations,
            "build_time_s": self.build_time_s,
            "solve_time_s": self.solve_time_s,
            "constraint_violation": self.constraint_violation,
            "second_order_ok": self.optimality.second_order_ok,
            "first_order_gap": self.optimality["first_order_gap"],  # JSON-ready: None where not computed
            "hamiltonian_residual": self.maximum_principle["residual"],
        }

    def summary(self) -> dict[str, Any]:
        """The scalar fields, JSON-ready."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _ARRAYS}
        out |= {
            name: out[name].as_dict()
            for name in ("first_order", "optimality", "start", "maximum_principle", "stability")
        }
        out["training"] = self.training.as_dict() if self.training is not None else {}
        out["free_parameters"] = {k: v.tolist() for k, v in self.free_parameters.items()}
        out["parameters"] = {k: v.tolist() for k, v in self.parameters.items()}
        out["K"] = self.K
        out["N"] = self.N
        return out

    def save(self, path: str | os.PathLike) -> Path:
        """Write the solution atomically to ``path`` (.npz; see module docstring)."""
        path = Path(path)
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        arrays |= {f"free_parameter__{k}": v for k, v in self.free_parameters.items()}
        arrays |= {f"parameter__{k}": v for k, v in self.parameters.items()}
        meta = {k: v for k, v in self.summary().items() if k not in ("free_parameters", "parameters")}
        meta["format_version"] = FORMAT_VERSION
        arrays["metadata"] = np.array(json.dumps(meta))
        write_npz_atomic(path, arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Solution:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["metadata"]))
            kwargs = {name: data[name] for name in _ARRAYS if name in data.files}  # costates: since 2026-12
            kwargs["free_parameters"] = {
                k.split("__", 1)[1]: data[k] for k in data.files if k.startswith("free_parameter__")
            }
            kwargs["parameters"] = {k.split("__", 1)[1]: data[k] for k in data.files if k.startswith("parameter__")}
        names = {f.name for f in fields(cls)}
        kwargs |= {k: v for k, v in meta.items() if k in names and k not in kwargs}
        return cls(**kwargs)
