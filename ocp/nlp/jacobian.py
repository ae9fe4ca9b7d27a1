"""The constraints' Jacobian of a multiple-shooting NLP with many free parameters, in blocks.

Free parameters (a network's weights, shared by every interval and member) enter every gap constraint, so
their columns of the Jacobian are dense. CasADi computes a Jacobian by directional derivatives, one per
colour of its sparsity, and dense columns cannot share a colour: each free parameter costs one sweep of the
whole NLP (0.23 s per Jacobian with 354 weights on 4 x 75 nodes; `benchmarks/timeseries.py`).

The gap of member b on interval k depends on its own start state, the interval's control and parameters,
and T. So the Jacobian of the step function of ONE member with respect to those inputs (nx rows: cheap in
reverse mode, computed once as an SX function and applied to every member and interval) gives every
nonzero of the gaps' rows; the other constraints' rows, which rarely touch the free parameters, keep
CasADi's own Jacobian. `block_jacobian` returns IPOPT's ``jac_g`` built this way, or None where it does
not apply (no free parameters, the condensed form, or sizes that change between intervals).
"""

from __future__ import annotations

import casadi as ca
import numpy as np

from ocp.nlp.functions import batch
from ocp.nlp.transcription import TranscribedNLP


def block_jacobian(nlp: TranscribedNLP) -> ca.Function | None:
    """IPOPT's ``jac_g``: (x, p) -> (g, Jacobian of g), the gaps' rows assembled from per-member blocks."""
    problem, layout = nlp.problem, nlp.layout
    n_free = layout.free_parameters.size
    # used for any number of free parameters: the blocks are exact, CasADi's own Jacobian of a vectorized
    # graph was not (`tests/test_timeseries.py`)
    if n_free == 0 or not nlp.step_inputs or problem.interval_sizes is not None or nlp.layout.stages.size:
        return None
    N, nx, K = problem.N, problem.nx, nlp.method.K
    derivatives = batch(step_derivatives(nlp, n_free), N, nlp.method.parallelization, member_inputs=("x0", "d"))
    tau = nlp.method.normalised_grid()
    values, rows, cols = [], [], []
    member_rows = np.arange(N)[:, None] * nx + np.arange(nx)[None, :]  # (N, nx): rows of one interval's gaps

    def add(block: ca.MX, block_rows: np.ndarray, block_cols: np.ndarray) -> None:
        values.append(ca.vec(block))
        rows.append(block_rows.ravel())
        cols.append(block_cols.ravel())

    for k, (x_k, u_k, params_k, t_k, h_k, data_k) in enumerate(nlp.step_inputs):
        d_x, d_u, d_free, d_time = derivatives(x_k, u_k, params_k, t_k, h_k, nlp.T, data_k)
        r = k * N * nx + member_rows  # the gap rows of node k + 1
        # vec of a (nx * n, N) block: member by member, each the column-major vec of its (nx, n) Jacobian
        add(-d_x, np.repeat(r[:, None, :], nx, axis=1), np.repeat(layout.states[k][:, :, None], nx, axis=2))
        add(ca.MX(np.ones((nx, N))), r, layout.states[k + 1])
        nu = layout.controls.shape[1]
        if nu:
            add(
                -d_u,
                np.repeat(r[:, None, :], nu, axis=1),
                np.broadcast_to(layout.controls[k][None, :, None], (N, nu, nx)),
            )
        free_cols = np.broadcast_to(layout.free_parameters[None, :, None], (N, n_free, nx))
        add(-d_free, np.repeat(r[:, None, :], n_free, axis=1), free_cols)
        if layout.horizon.size:  # t_k = T tau_k and h_k = T (tau_k+1 - tau_k): the chain rule through both
            dt0, dh, dT = (d_time[i * nx : (i + 1) * nx, :] for i in range(3))
            add(-(dt0 * tau[k] + dh * (tau[k + 1] - tau[k]) + dT), r, np.full((N, nx), layout.horizon[0]))
    n_gaps = K * N * nx
    rest = nlp.g[n_gaps:]
    if rest.numel():
        jac_rest = ca.jacobian(rest, nlp.w)
        r_rest, c_rest = jac_rest.sparsity().get_triplet()
        values.append(ca.sparsity_cast(jac_rest, ca.Sparsity.dense(jac_rest.nnz(), 1)))
        rows.append(np.asarray(r_rest, dtype=int) + n_gaps)
        cols.append(np.asarray(c_rest, dtype=int))
    all_rows, all_cols = np.concatenate(rows), np.concatenate(cols)
    order = np.lexsort((all_rows, all_cols))  # column-major, the order of CasADi's nonzeros
    sparsity = ca.Sparsity.triplet(nlp.g.numel(), nlp.w.numel(), all_rows[order].tolist(), all_cols[order].tolist())
    if sparsity.nnz() != order.size:
        return None  # two blocks claim one entry: the layout is not the one assumed here
    nonzeros = ca.vertcat(*values)[order.tolist()]
    return ca.Function(
        "nlp_jac_g", [nlp.w, nlp.p], [nlp.g, ca.sparsity_cast(nonzeros, sparsity)], ["x", "p"], ["g", "jac_g_x"]
    )


def step_derivatives(nlp: TranscribedNLP, n_free: int) -> ca.Function:
    """For one member: the step's end state differentiated by the start state, the control, the free
    parameters (the last n_free entries of the parameter input) and (t0, h, T), each dense and vec'd."""
    step = nlp.step
    x0, u, p, t0, h, T, d = (ca.SX.sym(name, step.sparsity_in(i)) for i, name in enumerate(step.name_in()))
    end = step(x0, u, p, t0, h, T, d)[0]
    free = p[p.numel() - n_free :]  # SX entries are symbols: differentiable by directly
    blocks = [ca.jacobian(end, x0), ca.jacobian(end, u), ca.jacobian(end, free)]
    time = ca.vertcat(ca.jacobian(end, t0), ca.jacobian(end, h), ca.jacobian(end, T))
    outputs = [ca.vec(ca.densify(b)) for b in blocks] + [ca.vec(ca.densify(time))]
    return ca.Function(
        "step_derivatives", [x0, u, p, t0, h, T, d], outputs, list(step.name_in()), ["d_x", "d_u", "d_free", "d_time"]
    )
