"""A problem's build key: equal keys mean one built `OCPSolver` solves both.

An `OCPSolver` takes T (a fixed horizon) and the values of fixed parameters
at solve time, so two problems that differ only there share one build. The
key hashes everything else: the symbolic expressions (as CasADi prints them),
arrays by their bytes, the method and the solver options. Two problems built
by the same code from the same settings print identically, so a sweep over T
or lambda builds once; anything else that changes (data, K, dynamics) gives
another key and another build.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

import casadi as ca
import numpy as np

from ocp.problem.method import MultipleShooting
from ocp.problem.problem import Problem
from ocp.problem.terms import Horizon, Parameter


def build_key(problem: Problem, method: MultipleShooting, options: Any) -> str:
    """A hex digest of what the NLP built for ``problem`` depends on besides T and parameter values."""
    digest = hashlib.sha256()
    _feed(digest, problem)
    _feed(digest, repr(method))
    _feed(digest, repr(options))
    return digest.hexdigest()[:16]


def nlp_key(problem: Problem, method: MultipleShooting) -> str:
    """Identifies the NLP's variables and constraints (the build key without the solver options, which
    change how it is solved, not what it is): a solution of one warm-starts a solve of the other only if
    the keys are equal. Equal sizes are not enough: another problem of the same size orders or means
    its variables differently."""
    return build_key(problem, method, None)


def _feed(digest, value: Any) -> None:
    update = digest.update
    if isinstance(value, Parameter):  # its value is set per solve
        shape, intervals = ca.SX(value.symbol).shape, value.intervals  # a per-interval one: K values
        update(f"Parameter({value.name}, {shape}, {value.continuation}, {value.per_interval}, {intervals})".encode())
    elif isinstance(value, Horizon):  # a fixed T is set per solve
        update(repr((value.free, value.lb, value.ub, str(value.symbol), value.T if value.free else None)).encode())
    elif isinstance(value, ca.SX | ca.DM):
        update(f"{type(value).__name__}{value.shape}:{value}".encode())
    elif isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value, dtype=float)
        update(f"array{array.shape}:".encode())
        update(array.tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        update(type(value).__name__.encode())
        for f in dataclasses.fields(value):
            update(f.name.encode())
            _feed(digest, getattr(value, f.name))
    elif isinstance(value, Mapping):
        for k in sorted(value, key=str):
            update(repr(k).encode())
            _feed(digest, value[k])
    elif isinstance(value, list | tuple):
        update(f"seq{len(value)}".encode())
        for item in value:
            _feed(digest, item)
    else:
        update(repr(value).encode())
