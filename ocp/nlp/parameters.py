"""The values of a transcribed NLP's data parameters, in the order `transcription._Inputs` lays them out:
the members' data (constant, or per interval: known inputs) and the sampled costs' samples and weights."""

from __future__ import annotations

import numpy as np

from ocp.errors import ProblemError
from ocp.problem.problem import Problem


def member_data(problem: Problem, data=None, N: int | None = None) -> np.ndarray:
    """(N, intervals, nd): each member's data on each interval (one interval unless per-interval), from
    ``data`` ((N, nd), or (N, K, nd) per interval) or, when None, the problem's own (zeros for N members
    other than the problem's)."""
    nd, intervals = problem.data_symbol.numel(), problem.data_intervals
    N = problem.N if N is None else N
    if data is None:
        data = problem.data_values if N == problem.N else np.zeros((N, intervals, nd))
    values = np.asarray(data, dtype=float)
    if values.size != N * intervals * nd:
        shape = f"({N}, {intervals}, {nd})" if intervals > 1 else f"({N}, {nd})"
        raise ProblemError(f"data must have shape {shape}, got {values.shape}")
    return values.reshape(N, intervals, nd)


def data_parameters(problem: Problem, data=None) -> np.ndarray:
    """The data's NLP parameters in the order of `_Inputs`: interval by interval, member by member."""
    return member_data(problem, data).transpose(1, 0, 2).ravel()


def sample_parameters(problem: Problem) -> np.ndarray:
    """The values of the sampled costs' NLP parameters, in the order of `_Inputs` (missing samples as 0)."""
    blocks = []
    for term in problem.sampled_costs.values():
        values, weights = term.sample_arrays()
        blocks += [values.transpose(1, 0, 2).ravel(), weights.T.ravel()]  # node-major, then member, then entry
    return np.concatenate(blocks) if blocks else np.zeros(0)
