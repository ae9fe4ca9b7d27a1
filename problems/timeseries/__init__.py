"""Time-series fitting: x' = f_theta(x) (an MLP or a linear field) fitted to observed trajectories.

`model.py` poses the fit as an OCP (one member per trajectory, the weights a free parameter), `report.py`
writes forecasts, errors and figures, `series.py` reads and generates records, `vector_fields.py` holds the
models; this module ties them into the problem type `ocp solve` finds through the entry point.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import casadi as ca

import ocp
from ocp.errors import ConfigError
from ocp.run.registry import Setup
from ocp.run.settings import RunSettings

from . import report
from .hybrid import hybrid_field, known_parameters
from .model import (
    TRAIN_FRACTION,
    Scaling,
    TimeSeriesContext,
    TimeSeriesSettings,
    _state_guess,
    node_grid,
    timeseries_problem,
)
from .observation import configured_observation
from .vector_fields import vector_field


class TimeSeriesProblemType:
    name = "timeseries"
    description = "x' = f_theta(x) (an MLP or linear) fitted to observed trajectories by multiple shooting"
    settings = TimeSeriesSettings

    def build(self, settings: TimeSeriesSettings, run: RunSettings) -> Setup[TimeSeriesContext]:
        if any(w < 1 for w in settings.model.widths):
            raise ConfigError(f"'model.widths' must be positive integers, got {list(settings.model.widths)}")
        series, true_field = settings.data.load(run.seed)
        start, end = series.span
        until = settings.data.train_until
        until = start + TRAIN_FRACTION * (end - start) if until is None else until
        if not start < until:
            raise ConfigError(f"'data.train_until' ({until}) must lie after the first sample time ({start})")
        train = series.window(start, until)
        if any(tr.t.size == 0 for tr in train.trajectories):
            raise ConfigError("'data.train_until': a member has no sample in the training window")
        grid = node_grid(train, union=settings.data.grid == "union", max_gap=settings.data.max_gap)
        scaling = Scaling.of(train, settings.normalize)
        m = settings.model
        n = series.nx if m.states is None else m.states
        if n < series.nx:
            raise ConfigError(f"'model.states' ({n}) must be at least the number of observed columns ({series.nx})")
        state, inputs = ca.SX.sym("x", n), ca.SX.sym("u", series.nu)
        observation = configured_observation(state, series.nx, m.observation)
        if series.nu and m.kind not in ("mlp", "linear", "none"):
            raise ConfigError(f"'model.kind': {m.kind} takes no inputs; with 'data.inputs' use mlp, linear or none")
        model = vector_field(state, m.kind, m.widths, m.activation, inputs)
        if m.known:
            parameters = known_parameters(m.parameters)
            model = hybrid_field(
                model, m.known, parameters, (series.names, series.input_names), (state, inputs), scaling
            )
        problem = timeseries_problem(
            train, grid, scaling, model, (state, inputs), settings.lam, settings.initial_states, observation
        )
        guess = ocp.InitialGuess(
            states=_state_guess(train, grid, scaling, observation),
            free_parameters={"theta": model.initial_weights(m.init_scale, run.seed)} if model.theta.numel() else {},
        )
        completed = replace(run, T=grid.T, K=grid.K, grid=grid.tau)
        truth = settings.data.truth(run.seed)
        context = TimeSeriesContext(
            series, train, until, grid, scaling, model, state, inputs, true_field, settings, observation, truth
        )
        summary = {
            "members": len(series.trajectories),
            "nx": series.nx,
            "states": n,  # the model's; those beyond nx are hidden
            "inputs": series.nu,
            "samples_train": train.samples(),
            "nodes_per_member": grid.K + 1,
            "grid": "per member (each in its own time)" if grid.rescaled else "shared",
            "samples_held_out": series.samples() - train.samples(),
            "train_until": until,
            "parameters": model.size,
            "model": settings.model.kind,
            "lambda": settings.lam,
        }
        if m.known:
            summary["known"] = [str(text) for text in m.known]
        return Setup(problem, guess, context, summary, run=completed)

    def report(
        self, setup: Setup[TimeSeriesContext], run: RunSettings, solution: ocp.Solution, out_dir: Path
    ) -> dict[str, Any]:
        return report.report(setup, solution, out_dir)


PROBLEM_TYPE = TimeSeriesProblemType()
