"""Forward simulation of a problem's dynamics under given controls."""

from __future__ import annotations

from collections.abc import Mapping

import casadi as ca
import numpy as np

from ocp.errors import ProblemError
from ocp.nlp.functions import step_function
from ocp.nlp.parameters import member_data
from ocp.problem.checks import check_interval_sizes
from ocp.problem.method import MultipleShooting
from ocp.problem.problem import Problem
from ocp.problem.terms import Parameter


def parameter_vector(problem: Problem, values: Mapping[str, object] | None = None, *, which: str = "all") -> np.ndarray:
    """Stack parameter values in the problem's order: ``which`` is 'fixed', 'free' or 'all' (fixed, then free).

    ``values`` overrides by name; unnamed ones keep their defaults (the
    fixed parameter's value, the free parameter's guess).
    """
    values = dict(values or {})
    known = {p.name for p in problem.parameters} | {p.name for p in problem.free_parameters}
    unknown = set(values) - known
    if unknown:
        raise ProblemError(f"unknown parameter(s) {sorted(unknown)}; the problem declares {sorted(known)}")
    chunks = []
    specs = [(p, p.value) for p in problem.parameters] if which in ("fixed", "all") else []
    if which in ("free", "all"):
        specs += [(p, p.guess) for p in problem.free_parameters]
    for spec, default in specs:
        value = np.asarray(values.get(spec.name, default), dtype=float)
        n = spec.symbol.numel()
        shape = (spec.intervals, n) if isinstance(spec, Parameter) and spec.per_interval else (n,)
        try:
            chunks.append(np.broadcast_to(value, shape).astype(float).ravel())
        except ValueError:
            raise ProblemError(f"parameter {spec.name!r} needs shape {shape}, got {value.shape}") from None
    return np.concatenate(chunks) if chunks else np.zeros(0)


def parameter_values(problem: Problem, vector: np.ndarray, *, which: str) -> dict[str, np.ndarray]:
    """The inverse of `parameter_vector`: ``vector`` (its leading entries) split by name; ``which`` is
    'fixed' or 'free'."""
    specs = problem.parameters if which == "fixed" else problem.free_parameters
    values, offset = {}, 0
    for spec in specs:
        n = spec.symbol.numel()
        if isinstance(spec, Parameter) and spec.per_interval:
            values[spec.name] = np.reshape(vector[offset : offset + n * spec.intervals], (spec.intervals, n))
            offset += n * spec.intervals
            continue
        values[spec.name] = vector[offset : offset + n]
        offset += n
    return values


def simulate(
    problem: Problem,
    method: MultipleShooting,
    controls: np.ndarray,
    *,
    initial_states: np.ndarray | None = None,
    T: float | None = None,
    parameters: Mapping[str, object] | None = None,
    data: np.ndarray | None = None,
    step: ca.Function | None = None,
    substeps: int = 1,
) -> np.ndarray:
    """States (N, K+1, nx) from initial states (N, nx) under controls (K, nu).

    Defaults come from the problem (its initial states, horizon, parameter
    values, ensemble data). Any number N of members may be simulated, e.g.
    new points to classify. ``step`` reuses a built one-member step function;
    ``substeps`` calls it that many times per interval, on equal pieces (a
    finer integration without a larger expression graph).
    """
    x0 = problem.initial_states() if initial_states is None else np.atleast_2d(np.asarray(initial_states, float))
    if x0 is None:
        raise ProblemError("simulate needs initial_states: the problem leaves x(0) free")
    N = x0.shape[0]
    data = member_data(problem, data, N)  # (N, intervals, nd)
    controls = np.asarray(controls, dtype=float).reshape(method.K, problem.nu)
    T = problem.horizon.T if T is None else float(T)
    fixed = parameter_vector(problem, parameters, which="fixed")
    free = parameter_vector(problem, parameters, which="free")
    step = (step or step_function(problem, method, [])).map(N)
    times = T * method.normalised_grid()
    check_interval_sizes(problem, method)  # interval sizes and per-interval parameters hold K entries
    sizes = problem.interval_sizes
    if sizes is not None:
        state_mask, control_mask = sizes.masks(problem.nx, problem.nu)
        controls = np.where(control_mask, controls, 0.0)
        x0 = np.where(state_mask[0], x0, 0.0)
    out = np.empty((method.K + 1, problem.nx, N))
    out[0] = x0.T
    for k in range(method.K):
        p = problem.parameters_on_interval(fixed, free, k)
        data_k = data[:, min(k, data.shape[1] - 1)].T
        end, h = out[k], (times[k + 1] - times[k]) / substeps
        for piece in range(substeps):
            end = np.asarray(step(end, controls[k], p, times[k] + piece * h, h, T, data_k)[0])
        out[k + 1] = end if sizes is None else sizes.next_state(k, end)
    return out.transpose(2, 0, 1)
