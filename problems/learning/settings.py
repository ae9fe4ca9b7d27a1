"""Config sections shared by the learning problems: data, dynamics, loss."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ocp.errors import ConfigError
from ocp.options import at_least

from .activations import ActivationName
from .datasets import Dataset, DataSource, generate, load
from .networks import NetworkDynamics
from .spacetime import Embedding, QuadratureRule, Readout, SpaceTimeDynamics


@dataclass(frozen=True)
class DataSettings:
    """``data:``. source 'annulus' (docs/science.md), 'xor', 'spirals' or 'gaussian' (regression, `datasets.gaussian`)
    generates a set; 'file' reads ``path``.

    Test points: generated alongside, read from ``test_path``, or
    split off the file (``n_test`` points).
    """

    source: DataSource = "annulus"
    n_train: int = at_least(2, 300)
    n_test: int = at_least(0, 300)
    dim: int = at_least(1, 2)
    path: str | None = None
    test_path: str | None = None

    def load(self, seed: int) -> tuple[Dataset, Dataset]:
        """(train, test) sets; a missing or unreadable file is a ConfigError naming the field."""
        if self.source != "file":
            try:
                full = generate(self.source, self.n_train + self.n_test, self.dim, seed=seed)
            except ValueError as err:
                raise ConfigError(f"'data': {err}") from None
            return full.split(self.n_test, seed=seed)
        if self.path is None:
            raise ConfigError("'data.path' is required when 'data.source' is 'file'")
        data = _read(self.path, "data.path")
        if self.test_path is not None:
            return data, _read(self.test_path, "data.test_path")
        if self.n_test >= data.n:
            raise ConfigError(f"'data.n_test' ({self.n_test}) must be smaller than the {data.n} points of {self.path}")
        return data.split(self.n_test, seed=seed)


def _read(path: str, name: str) -> Dataset:
    try:
        return load(Path(path))
    except FileNotFoundError:
        raise ConfigError(f"{name!r}: data file not found: {path}") from None
    except ValueError as err:
        raise ConfigError(f"{name!r}: {err}") from None


@dataclass(frozen=True)
class DynamicsSettings:
    """``dynamics:`` the network architecture and its activation. ``width``: the bottleneck's m, or the
    number n_z of quadrature nodes of a space-time network (`spacetime.py`), which alone reads
    ``quadrature``, ``domain``, ``embedding``, ``readout`` and ``widths``: a width that changes with
    depth, n_z per block of intervals (the K intervals split into len(widths) equal blocks, in order)."""

    kind: Literal["inside", "outside", "bottleneck", "spacetime"] = "inside"
    activation: ActivationName = "tanh"
    width: int | None = at_least(1, None)
    quadrature: QuadratureRule = "gauss_legendre"
    domain: tuple[float, float] = (0.0, 1.0)
    embedding: Embedding = "piecewise"
    readout: Readout = "mean"
    widths: tuple[int, ...] | None = None

    def network(self, K: int) -> NetworkDynamics | SpaceTimeDynamics:
        """The dynamics on K control intervals (a width schedule gives each interval its width)."""
        if self.kind == "spacetime":
            if len(self.domain) != 2:
                raise ConfigError(f"'dynamics.domain' must be two numbers [a, b], got {list(self.domain)}")
            try:
                return SpaceTimeDynamics(
                    self.width or 16,
                    self.activation,
                    self.quadrature,
                    self.domain,
                    self.embedding,
                    self.readout,
                    widths=self._per_interval_widths(K),
                )
            except ValueError as err:
                raise ConfigError(f"'dynamics': {err}") from None
        if self.widths is not None:
            raise ConfigError(f"'dynamics.widths' needs kind 'spacetime', got kind {self.kind!r}")
        return NetworkDynamics(self.kind, self.activation, self.width)

    def _per_interval_widths(self, K: int) -> tuple[int, ...] | None:
        if self.widths is None:
            return None
        if self.width is not None:
            raise ConfigError("'dynamics': give 'width' (fixed) or 'widths' (a schedule), not both")
        if not 1 <= len(self.widths) <= K or min(self.widths) < 1:
            raise ConfigError(f"'dynamics.widths' needs 1 to K = {K} entries, each >= 1, got {list(self.widths)}")
        return tuple(self.widths[k * len(self.widths) // K] for k in range(K))


@dataclass(frozen=True)
class LearningSettings:
    """Keys every learning problem reads (a module adds its own regularisation keys)."""

    data: DataSettings = field(default_factory=DataSettings)
    dynamics: DynamicsSettings = field(default_factory=DynamicsSettings)
    loss: Literal["squared", "logistic"] = "squared"
    output: Literal["identity", "tanh", "sigmoid"] = "tanh"
    init_scale: float = at_least(0.0, 0.3)
