"""Problem ``timeseries``: a time-invariant vector field x' = f_theta(x) fitted to observed trajectories.

The fit is posed as one multiple-shooting OCP with no controls: the nodes sit at the observation times
(each member's own samples in the training window, `NodeGrid`; `steps` integrator sub-steps per interval),
each observed trajectory is one member of the ensemble, and the weights theta are free parameters shared
by all (and a hybrid model's fitted known parameters, `hybrid.py`, not penalised). The cost is the mean
squared error between the node states and the samples (an `ocp.SampledCost`; missing entries are masked)
plus lambda ||theta||^2. The initial states are free ("free", the first sample
is noisy too: it enters the fit like every other) or fixed to the first samples ("observed").

The model's state may be larger than the observed columns (``model.states``): the samples are then
compared with y = C z (``model.observation``, `observation.py`), and the hidden node states start at
`hidden_guess`. States are standardised (each observed entry minus its mean, over its standard deviation,
over the training samples; hidden ones are in the model's own units) unless ``normalize: false``; the
reports are in the data's units. The node states start at the data (interpolated where a member has no
sample): the start that makes multiple shooting robust where single shooting, which starts from one
simulated trajectory, meets many local minima.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import casadi as ca
import numpy as np

import ocp
from ocp.errors import ConfigError
from ocp.options import at_least, open_interval, positive

from ..learning.activations import ActivationName
from .observation import Observation
from .series import GENERATED, SHIPPED, Series, SeriesSource, generate, load, shipped
from .vector_fields import ModelKind, VectorField

FIT, REGULARIZATION = "fit", "regularization"
TRAIN_FRACTION = 0.75  # of the time span, when data.train_until is not given
MAX_DERIVATIVE = 3  # the highest derivative of the data that starts a hidden state (`hidden_guess`)
MAX_STATES = 1000  # a larger model.states is refused before the build, which would take hours or fail
# a generated record's members x samples: 40x the diffrax example's 25,600, which takes minutes per solve;
# more is refused before generating, which would run out of memory or take hours
MAX_GENERATED_SAMPLES = 1_000_000


@dataclass(frozen=True)
class SeriesData:
    """``data:``. A generated system (``source`` van_der_pol, lotka_volterra, linear or pendulum: ``members``
    trajectories from seeded initial states, ``samples`` each on [0, ``t_end``], N(0, ``noise``^2) added), a
    real record shipped with the package (``lynx_hare``, `problems/timeseries/data`), or a ``file`` (CSV or .npz,
    `series.py`). Samples after ``train_until`` (default: the first 75 % of the
    time span) are held out for the forecast."""

    source: SeriesSource = "van_der_pol"
    path: str | None = None
    members: int = at_least(1, 4)
    samples: int = at_least(3, 100)
    t_end: float = positive(20.0)
    noise: float = at_least(0.0, 0.05)
    mu: float = 1.0  # the Van der Pol oscillator's damping
    times: Literal["even", "random"] = "even"  # generated: shared equally spaced times, or each member its own
    train_until: float | None = None
    inputs: tuple[str, ...] = ()  # a file's columns that are known inputs u(t), not states
    # member: each member's nodes at its own sample times; union: every member on all members' times
    grid: Literal["member", "union"] = "member"
    # per-member grids: a gap longer than this gets extra nodes (equal pieces); null: twice the median gap
    max_gap: float | None = positive(None)

    # the state columns the fit sees (generated: x1, x2); null: all. The others are dropped (hidden states)
    observed: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.inputs and self.source != "file":
            raise ConfigError("'data.inputs' names columns of a data file: it needs 'data.source: file'")
        if self.observed is not None and (not self.observed or len(set(self.observed)) < len(self.observed)):
            raise ConfigError(f"'data.observed' must name distinct columns, got {list(self.observed)}")
        if self.source in GENERATED and self.members * self.samples > MAX_GENERATED_SAMPLES:
            raise ConfigError(
                f"'data.members' x 'data.samples' ({self.members} x {self.samples}) is more than the "
                f"{MAX_GENERATED_SAMPLES:,} samples a generated record may hold"
            )

    def load(self, seed: int) -> tuple[Series, Any]:
        """(the series of the observed columns, its true vector field or None for a file); a bad file or an
        unknown observed column is a ConfigError."""
        series, true_field = self._record(seed)
        if self.observed is None:
            return series, true_field
        try:
            return series.columns(self.observed), true_field
        except ValueError as err:
            raise ConfigError(f"'data.observed': {err}") from None

    def truth(self, seed: int) -> Series | None:
        """A generated system's every state, observed or not, without noise at the sample times (the same
        seeded initial states as `load`'s): what hidden states should recover; None for recorded data."""
        if self.source not in GENERATED:
            return None
        kept = dict(
            members=self.members, samples=self.samples, t_end=self.t_end, seed=seed, mu=self.mu, times=self.times
        )
        return generate(self.source, noise=0.0, **kept)[0]

    def _record(self, seed: int) -> tuple[Series, Any]:
        if self.source in SHIPPED:
            return shipped(self.source), None
        if self.source != "file":
            return generate(
                self.source,
                members=self.members,
                samples=self.samples,
                t_end=self.t_end,
                noise=self.noise,
                seed=seed,
                mu=self.mu,
                times=self.times,
            )
        if self.path is None:
            raise ConfigError("'data.path' is required when 'data.source' is 'file'")
        try:
            return load(Path(self.path), self.inputs), None
        except FileNotFoundError:
            raise ConfigError(f"'data.path': data file not found: {self.path}") from None
        except (ValueError, OSError) as err:
            raise ConfigError(f"'data.path': {err}") from None


@dataclass(frozen=True)
class ModelSettings:
    """``model:``: an ``mlp`` with hidden ``widths`` and ``activation``, ``linear`` (x' = A x + b), or one of
    the learning problems' network dynamics with constant weights (``inside``, ``outside``, ``bottleneck``:
    `vector_fields.py`; ``widths`` unused), or ``none``. With known inputs the mlp reads [x; u] and the linear
    model is A x + B u + b. ``known``: a hybrid model, x' = known(x, u, p) + the network (`hybrid.py`), one
    formula per state in the data's units, with the ``parameters`` p fixed (a number) or fitted
    (``{value: v, fit: true}``); with ``kind: none`` the known part is the whole model."""

    kind: ModelKind = "mlp"
    widths: tuple[int, ...] = (32, 32)
    activation: ActivationName = "tanh"
    init_scale: float = at_least(0.0, 1.0)  # x Glorot-normal weights (seeded)
    known: tuple[str | float, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)

    states: int | None = at_least(1, None)  # the model's state size; null: the observed columns' number
    observation: tuple[Any, ...] | None = None  # h of y = h(z): rows of C or formulas in z1..zn; null: [I 0]

    def __post_init__(self) -> None:
        if self.states is not None and self.states > MAX_STATES:
            raise ConfigError(f"'model.states' must be at most {MAX_STATES}, got {self.states}")
        if self.known and (self.states is not None or self.observation is not None):
            raise ConfigError(
                "'model.known' writes the dynamics of the observed columns: it does not combine with "
                "'model.states' or 'model.observation' (hidden states)"
            )
        if self.kind == "none" and not self.known:
            raise ConfigError("'model.kind': none (no network) needs a known model in 'model.known'")
        if self.parameters and not self.known:
            raise ConfigError("'model.parameters' are the parameters of 'model.known', which is not given")


@dataclass(frozen=True)
class BandSettings:
    """``bands:``: prediction bands at ``level`` around the free runs (`bands.py`); ``level: null`` for none."""

    level: float | None = open_interval(0.0, 1.0, 0.95)


@dataclass(frozen=True)
class TimeSeriesSettings:
    """Config keys of ``problem: timeseries`` beside `RunSettings` (whose T, K and grid come from the data)."""

    data: SeriesData = field(default_factory=SeriesData)
    model: ModelSettings = field(default_factory=ModelSettings)
    lam: float = field(default=1e-4, metadata={"key": "lambda", "ge": 0.0})
    initial_states: Literal["free", "observed"] = "free"
    normalize: bool = True
    bands: BandSettings = field(default_factory=BandSettings)


@dataclass(frozen=True)
class Scaling:
    """z = (x - mean) / std per state entry, and the same for the known inputs."""

    mean: np.ndarray
    std: np.ndarray
    input_mean: np.ndarray
    input_std: np.ndarray

    def to_model(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std

    def to_data(self, z: np.ndarray) -> np.ndarray:
        return self.mean + self.std * z

    def inputs_to_model(self, u: np.ndarray) -> np.ndarray:
        return (u - self.input_mean) / self.input_std

    @classmethod
    def of(cls, series: Series, normalize: bool) -> Scaling:
        x = np.vstack([tr.x for tr in series.trajectories])
        u = np.vstack([tr.u for tr in series.trajectories]) if series.nu else np.zeros((1, 0))
        if not normalize:
            return cls(np.zeros(series.nx), np.ones(series.nx), np.zeros(series.nu), np.ones(series.nu))
        std, input_std = np.nanstd(x, axis=0), np.std(u, axis=0)
        return cls(
            np.nanmean(x, axis=0),
            np.where(std > 0, std, 1.0),
            np.mean(u, axis=0),
            np.where(input_std > 0, input_std, 1.0),
        )


@dataclass(frozen=True)
class NodeGrid:
    """The shooting nodes: each member's own observation times in the training window.

    ``member_times`` (N, K + 1): member b's sample times, padded after its last sample by repeating it
    (an interval of length 0, on which its state stays put and no sample is counted). Where every member
    has the same times (generated records), they are one grid in real time: T is its length and the
    nodes sit at its fractions ``tau``. Otherwise (``rescaled``) each member runs in its own time
    s in [0, K], one unit per interval, with x' = h_bk f(x) on interval k, h_bk = its length in real
    time: the same ODE, and the nodes grow with each member's samples, not with the union of all
    members' times (plus extra nodes that split long gaps, `node_grid`). ``data.grid: union`` puts every
    member on that union instead (NaN where it has no sample), as before.
    """

    member_times: np.ndarray  # (N, K + 1)
    rescaled: bool = False

    @property
    def K(self) -> int:
        return self.member_times.shape[1] - 1

    @property
    def times(self) -> np.ndarray:
        """(K + 1,) the shared real times of the nodes (not defined when rescaled)."""
        if self.rescaled:
            raise ValueError("a rescaled grid has no shared real times: use member_times")
        return self.member_times[0]

    @property
    def T(self) -> float:
        return float(self.K) if self.rescaled else float(self.times[-1] - self.times[0])

    @property
    def tau(self) -> tuple[float, ...]:
        if self.rescaled:
            return tuple(np.linspace(0.0, 1.0, self.K + 1))
        return tuple((self.times - self.times[0]) / self.T)

    def lengths(self) -> np.ndarray:
        """(N, K) each member's interval lengths in real time (0 on its padding)."""
        return np.diff(self.member_times, axis=1)

    def start(self, member: int) -> float:
        return float(self.member_times[member, 0])

    def nodes_of(self, member: int, t: np.ndarray) -> np.ndarray:
        """The node indices of a member's sample times ``t`` (their first node, before any padding)."""
        return np.searchsorted(self.member_times[member], t)

    def inputs(self, series: Series, scaling: Scaling) -> np.ndarray:
        """(N, K, nu) scaled known inputs on each interval: each member's input held at the interval's start."""
        return np.stack(
            [
                scaling.inputs_to_model(tr.inputs_at(self.member_times[b, :-1]))
                for b, tr in enumerate(series.trajectories)
            ]
        )

    def samples(self, series: Series, scaling: Scaling) -> np.ndarray:
        """(N, K + 1, nx) scaled samples at the nodes, NaN where a member has none."""
        out = np.full((len(series.trajectories), self.K + 1, series.nx), np.nan)
        for b, tr in enumerate(series.trajectories):
            out[b, self.nodes_of(b, tr.t)] = scaling.to_model(tr.x)
        return out


def node_grid(train: Series, union: bool = False, max_gap: float | None = None) -> NodeGrid:
    """Each member's own sample times (`NodeGrid`), or the union of all members' times with ``union``.

    On per-member grids a gap longer than ``max_gap`` (default: twice the median gap over all members)
    is split into equal pieces by extra nodes without samples: every interval gets the same integrator
    steps, so one long gap would otherwise set the accuracy of the whole fit."""
    own = [np.unique(tr.t) for tr in train.trajectories]
    shared = all(t.shape == own[0].shape and np.array_equal(t, own[0]) for t in own)
    if union or shared:
        times = np.unique(np.concatenate(own))
        if times.size < 2:
            raise ConfigError("'data': the training window holds fewer than 2 sample times")
        return NodeGrid(np.broadcast_to(times, (len(own), times.size)).copy())
    if any(t.size < 2 for t in own):
        raise ConfigError(
            "'data': a member has fewer than 2 sample times in the training window (data.grid: union fits it)"
        )
    if max_gap is None:
        max_gap = 2.0 * float(np.median(np.concatenate([np.diff(t) for t in own])))
    own = [_split_long_gaps(t, max_gap) for t in own]
    K = max(t.size for t in own) - 1
    padded = np.stack([np.concatenate([t, np.full(K + 1 - t.size, t[-1])]) for t in own])
    return NodeGrid(padded, rescaled=True)


def _split_long_gaps(t: np.ndarray, max_gap: float) -> np.ndarray:
    """``t`` with each gap longer than ``max_gap`` cut into equal pieces no longer than it."""
    pieces = [np.linspace(a, b, int(np.ceil((b - a) / max_gap)) + 1)[:-1] for a, b in zip(t[:-1], t[1:], strict=True)]
    return np.concatenate([*pieces, t[-1:]])


@dataclass(frozen=True)
class TimeSeriesContext:
    series: Series  # everything observed
    train: Series  # the training window
    train_until: float
    grid: NodeGrid
    scaling: Scaling
    model: VectorField
    state: ca.SX
    inputs: ca.SX  # the known inputs' symbol (nu may be 0)
    true_field: Any  # the generated system's f(t, x), or None
    settings: TimeSeriesSettings
    observation: Observation | None = None  # y = h(state); None: y = state
    truth: Series | None = None  # a generated system's every state, noise-free (`SeriesData.truth`)

    def __post_init__(self) -> None:
        if self.observation is None:
            object.__setattr__(self, "observation", Observation(self.state, self.state))


def timeseries_problem(
    train: Series,
    grid: NodeGrid,
    scaling: Scaling,
    model: VectorField,
    symbols: tuple[ca.SX, ca.SX],
    lam: float,
    initial_states: str,
    observation: Observation | None = None,
) -> ocp.Problem:
    """The fitting OCP (module docstring): one member per trajectory, nodes at ``grid``; ``symbols`` are
    the state's and the known inputs' (the inputs held on each interval are per-interval member data). The
    samples are compared with ``observation``'s h(state) (None: the state itself)."""
    state, inputs = symbols
    seen = state if observation is None else observation.output
    samples = grid.samples(train, scaling)
    observed = np.isfinite(samples)
    weights = observed.any(axis=2).astype(float) / max(1, int(observed.sum()))  # the mean over observed entries
    y, mask = ca.SX.sym("y", train.nx), ca.SX.sym("mask", train.nx)
    sample = ca.vertcat(y, mask)
    values_of_samples = np.concatenate([np.where(observed, samples, 0.0), observed.astype(float)], axis=2)
    x0 = None
    if initial_states == "observed":
        if observation is not None and not observation.is_identity:
            raise ConfigError(
                "'initial_states': observed fixes the whole initial state, but the model's state is not the"
                " observed columns (model.states or model.observation): use free"
            )
        if not observed[:, 0].all():
            raise ConfigError("'initial_states': observed needs every member's every state observed at the first time")
        x0 = samples[:, 0]
    theta = model.theta
    free = (ocp.FreeParameter(theta),) if theta.numel() else ()  # kind none has no weights
    if model.known.numel():  # started at the config's values (unless a guess names them)
        free += (ocp.FreeParameter(model.known, guess=np.array(model.known_start)),)
    field_, data = model.field, None
    if train.nu:
        data = ocp.EnsembleData(inputs, grid.inputs(train, scaling), per_interval=True)
    if grid.rescaled:  # each member in its own time, one unit per interval: x' = h_bk f(x) (`NodeGrid`)
        h = ca.SX.sym("h")
        values = grid.lengths()[:, :, None]
        if train.nu:
            values = np.concatenate([grid.inputs(train, scaling), values], axis=2)
        data = ocp.EnsembleData(ca.vertcat(inputs, h), values, per_interval=True)
        field_ = h * model.field
    return ocp.Problem(
        state=state,
        control=ca.SX.sym("u", 0),
        dynamics=field_,
        horizon=ocp.Horizon.fixed(grid.T),
        free_parameters=free,
        sampled_costs={FIT: ocp.SampledCost(ca.sumsqr(mask * (seen - y)), sample, values_of_samples, weights)},
        terminal_costs={REGULARIZATION: lam * ca.sumsqr(theta)},
        initial_state=x0,
        ensemble_data=data,
        aggregate="sum",
    )


def _state_guess(train: Series, grid: NodeGrid, scaling: Scaling, observation: Observation | None = None):
    """(N, K + 1, n): each member's samples interpolated onto the nodes (held constant outside them); with
    hidden states, z with h(z) = those and the hidden directions started at `hidden_guess`."""
    guess = np.zeros((len(train.trajectories), grid.K + 1, train.nx))
    for b, tr in enumerate(train.trajectories):
        z = scaling.to_model(tr.x)
        for i in range(train.nx):
            seen = np.isfinite(z[:, i])
            guess[b, :, i] = np.interp(grid.member_times[b], tr.t[seen], z[seen, i]) if seen.any() else 0.0
    if observation is None or observation.n_states == train.nx:
        return guess
    return observation.states_from(guess, hidden_guess(guess, grid, observation.n_states - train.nx))


def hidden_guess(observed: np.ndarray, grid: NodeGrid, count: int) -> np.ndarray:
    """(N, K + 1, count) the start of the hidden states: time derivatives of the observed columns at the
    nodes (hidden j: derivative 1 + j // nx of column j % nx, `_local_slope`), each scaled to standard
    deviation 1; 0 beyond the MAX_DERIVATIVE-th (mostly noise). A delay embedding's idea: a system seen
    through one coordinate that determines its state has that coordinate and its derivatives as coordinates
    (x'' = F(x, x') for two states). Measured against zeros in docs/timeseries.md, "Hidden states"."""
    nx = observed.shape[2]
    out = np.zeros((*observed.shape[:2], count))
    for b in range(observed.shape[0]):
        times, first = np.unique(grid.member_times[b], return_index=True)  # padding repeats the last time
        back = np.searchsorted(times, grid.member_times[b])
        derivatives = [observed[b, first]]
        for j in range(min(count, MAX_DERIVATIVE * nx)):
            order, column = 1 + j // nx, j % nx
            while len(derivatives) <= order:
                derivatives.append(_local_slope(derivatives[-1], times))
            out[b, :, j] = derivatives[order][back, column]
    std = out.reshape(-1, count).std(axis=0)
    return out / np.where(std > 0, std, 1.0)


def _local_slope(y: np.ndarray, t: np.ndarray, half: int = 2) -> np.ndarray:
    """(m, nx) the least-squares slope of ``y`` over each time's 2 ``half`` + 1 nearest nodes (fewer at the
    ends; 0 for a single node): a derivative that averages the noise that central differences amplify."""
    slope = np.zeros_like(y)
    for k in range(t.size):
        near = slice(max(0, k - half), min(t.size, k + half + 1))
        dt = t[near] - t[near].mean()
        if dt @ dt > 0:
            slope[k] = dt @ (y[near] - y[near].mean(axis=0)) / (dt @ dt)
    return slope
