"""Hybrid models (universal differential equations): a known vector field plus a network, x' = f(x, u, p) + NN(x).

``model.known`` gives f as one formula per state (`expressions.py`) in the data's units, in the state names
(the record's columns, e.g. theta and omega), the known inputs' names and the parameters p of
``model.parameters``: a number is fixed; ``{value: v, fit: true}`` is fitted beside the network's weights,
started at v. The fit runs in standardised coordinates z = (x - mean) / std (`Scaling`), where the same
dynamics read z' = f(mean + std z, u, p) / std + NN(z): `hybrid_field` is the one place that does this.

The fitted parameters are not regularised: lambda ||theta||^2 pulls the network towards zero, which is what
keeps it a correction, while a physical constant (g/L = 9.81) has no reason to be small; a penalty would
bias it by lambda times its size over the curvature of the fit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import casadi as ca

from ocp.errors import ConfigError
from ocp.run.config import parse as parse_settings

from .expressions import CONSTANTS, parse
from .model import Scaling
from .vector_fields import VectorField


@dataclass(frozen=True)
class KnownParameter:
    """``model.parameters.NAME`` in its long form: a starting ``value``, fitted if ``fit``."""

    value: float
    fit: bool = False


def known_parameters(raw: Mapping[str, Any]) -> dict[str, KnownParameter]:
    """``model.parameters`` read: each name a number (fixed) or a `KnownParameter` mapping."""
    out = {}
    for name, value in raw.items():
        where = f"model.parameters.{name}"
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"'model.parameters': {name!r} is not a name (letters, digits and _)")
        if isinstance(value, Mapping):
            out[name] = parse_settings(KnownParameter, value, where)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ConfigError(f"{where!r} must be a finite number, got {value!r}")
            out[name] = KnownParameter(float(value))
        else:
            raise ConfigError(f"{where!r} must be a number (fixed) or {{value: number, fit: true}}, got {value!r}")
    return out


def hybrid_field(
    network: VectorField,
    known: tuple[str, ...],
    parameters: Mapping[str, KnownParameter],
    names: tuple[tuple[str, ...], tuple[str, ...]],
    symbols: tuple[ca.SX, ca.SX],
    scaling: Scaling,
) -> VectorField:
    """``network`` plus the known formulas, in model coordinates (module docstring). ``names`` are the
    states' and the known inputs' names, ``symbols`` their (scaled) symbols as the network reads them."""
    (state_names, input_names), (z, v) = names, symbols
    if len(known) != len(state_names):
        raise ConfigError(
            f"'model.known' has {len(known)} formulas for {len(state_names)} states ({', '.join(state_names)}): "
            "one per state, in that order"
        )
    taken = set(state_names) | set(input_names)
    clash = [name for name in parameters if name in taken or name in CONSTANTS]
    if clash:
        raise ConfigError(f"'model.parameters.{clash[0]}': the name of a state, an input or a constant")
    every = ca.SX.sym("p", len(parameters))  # each parameter its own symbol, then the fixed ones substituted
    x = ca.DM(scaling.mean) + ca.DM(scaling.std) * z  # the data's units
    u = ca.DM(scaling.input_mean) + ca.DM(scaling.input_std) * v
    scope = {**{n: x[i] for i, n in enumerate(state_names)}, **{n: u[j] for j, n in enumerate(input_names)}}
    scope |= {name: every[k] for k, name in enumerate(parameters)}
    f = ca.vertcat(*(parse(str(text), scope, f"model.known[{i}]") for i, text in enumerate(known)))
    unused = [name for k, name in enumerate(parameters) if not ca.depends_on(f, every[k])]
    if unused:
        raise ConfigError(f"'model.parameters.{unused[0]}' appears in no formula of 'model.known'")
    fitted = [name for name, q in parameters.items() if q.fit]
    p = ca.SX.sym("known", len(fitted))
    values = [p[fitted.index(name)] if q.fit else ca.SX(q.value) for name, q in parameters.items()]
    f = ca.substitute(f, every, ca.vertcat(*values)) if parameters else f
    return replace(
        network,
        field=f / ca.DM(scaling.std) + network.field,
        known=p,
        known_names=tuple(fitted),
        known_start=tuple(parameters[name].value for name in fitted),
    )
