"""What differs between the members of an ensemble: their data, constant or per interval (known inputs),
and the samples a fit compares their trajectories with at the nodes (`Problem.ensemble_data`,
`Problem.sampled_costs`)."""

from __future__ import annotations

from dataclasses import dataclass

import casadi as ca
import numpy as np

from ocp.errors import ProblemError


def column_symbol(sym: ca.SX, what: str) -> ca.SX:
    if not isinstance(sym, ca.SX) or not sym.is_valid_input() or sym.size2() != 1:
        raise ProblemError(f"{what} must be a column vector of casadi.SX symbols, e.g. casadi.SX.sym('x', 2)")
    return sym


@dataclass(frozen=True)
class EnsembleData:
    """Per-member data: ``values[b]`` is substituted for ``symbol`` in member b's terms.

    ``per_interval``: ``values`` is (N, K, nd), member b's data on each interval, piecewise constant like
    the controls (known inputs u(t) of a system fitted to records, held over each sampling interval);
    terminal costs and the last node's terms see the last interval's value.
    """

    symbol: ca.SX
    values: np.ndarray  # (N, nd), or (N, K, nd) per interval
    per_interval: bool = False

    @property
    def intervals(self) -> int:
        """How many values each member holds: K for per-interval data, else 1."""
        return np.shape(self.values)[1] if self.per_interval and np.ndim(self.values) == 3 else 1


@dataclass(frozen=True)
class SampledCost:
    """sum_k sum_b weights[b, k] expr(x_b(t_k), ..., y = values[b, k]): a cost sampled at the shooting nodes.

    The cost of fitting observed trajectories: put the nodes at the observation times
    (`MultipleShooting(K, grid=...)`) and give each member its samples. Summed over the nodes and aggregated
    over the members like every per-member term (`Problem.aggregate`).

    expr : scalar SX in the state, parameters, time, T, member data and ``symbol`` (and the control: at the
        last node, the last interval's, as for constraints).
    symbol : SX column of size ny that stands for a node's sample in ``expr``.
    values : (N, K + 1, ny): member b's sample at node k; anything (NaN) where its weight is 0.
    weights : (N, K + 1), >= 0; None: 1 where every entry of the sample is a number, 0 where one is NaN
        (a missing sample), so members of different lengths pad with NaN.
    """

    expr: ca.SX
    symbol: ca.SX
    values: np.ndarray
    weights: np.ndarray | None = None

    @property
    def nodes(self) -> int:
        return np.shape(self.values)[1]

    def sample_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(values with 0 where the weight is 0, weights): the NLP's parameter values for this cost."""
        values = np.asarray(self.values, dtype=float)
        if self.weights is None:
            weights = np.all(np.isfinite(values), axis=2).astype(float)
        else:
            weights = np.asarray(self.weights, dtype=float)
        return np.where(weights[:, :, None] > 0, values, 0.0), weights

    def check(self, name: str, N: int) -> None:
        what = f"sampled_costs[{name!r}]"
        column_symbol(self.symbol, f"{what}.symbol")
        if ca.SX(self.expr).numel() != 1:
            raise ProblemError(f"{what}.expr must be a scalar expression, got shape {ca.SX(self.expr).shape}")
        ny = self.symbol.numel()
        try:
            values = np.asarray(self.values, dtype=float)
        except (TypeError, ValueError):
            raise ProblemError(f"{what}.values must be numbers (NaN for a missing sample)") from None
        if values.ndim != 3 or values.shape[0] != N or values.shape[2] != ny:
            raise ProblemError(f"{what}.values must have shape ({N}, K + 1, {ny}), got {values.shape}")
        if self.weights is not None:
            try:
                weights = np.asarray(self.weights, dtype=float)
            except (TypeError, ValueError):
                raise ProblemError(f"{what}.weights must be numbers") from None
            if weights.shape != values.shape[:2]:
                raise ProblemError(f"{what}.weights must have shape {values.shape[:2]}, got {weights.shape}")
            if not np.all(np.isfinite(weights) & (weights >= 0)):
                raise ProblemError(f"{what}.weights must be finite and >= 0")
        values, weights = self.sample_arrays()
        bad = np.argwhere((weights > 0) & ~np.all(np.isfinite(values), axis=2))
        if bad.size:
            b, k = bad[0]
            raise ProblemError(
                f"{what}: {len(bad)} samples with a weight > 0 are not finite numbers, first: member {b}, node {k}"
            )
