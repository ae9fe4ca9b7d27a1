"""The Hessian of the Lagrangian of an ensemble NLP, coloured per member, not per variable.

CasADi evaluates a sparse Hessian by directional derivatives, one per colour
of a star colouring of its sparsity, and computes that colouring when IPOPT's
solver object is built. In an ensemble every member's states couple with the
shared controls, so those controls' rows are dense and the colouring takes
time quadratic in the number of members N: 6 s at N = 1000 and 48 s at N = 3000 on the
reference problem, most of the build (`benchmarks/README.md`).

Members never couple with each other directly and all have the same sparsity,
so one colouring of the graph restricted to the shared variables and two
members, with every member then given the colours of the first, colours the
whole batch (a path of four vertices meets at most two members). The
colouring is checked on the full pattern anyway: each nonzero must be
recoverable from the compressed Hessian, directly or by symmetry; if not,
`ensemble_hessian` returns None and CasADi's own Hessian is used.
"""

from __future__ import annotations

from typing import Literal

import casadi as ca
import numpy as np
import scipy.sparse as sparse

from ocp.nlp.transcription import TranscribedNLP

_NO_CUTOFF = 2**30  # star_coloring's cutoff on the number of colours

HessianChoice = Literal["exact", "gauss_newton", "limited_memory"]  # `SolverOptions.hessian`


def _pattern(sp: ca.Sparsity) -> sparse.csr_matrix:
    rows, cols = sp.get_triplet()
    data = np.ones(len(rows), dtype=np.int32)
    return sparse.csr_matrix((data, (rows, cols)), shape=sp.shape)


def member_periodic_colors(pattern: sparse.csr_matrix, members: np.ndarray) -> np.ndarray:
    """A colour per variable: CasADi's star colouring of the shared variables plus
    members 0 and 1, member 0's colours then given to every member.

    ``members`` is the (N, n) index array of each member's variables, in the same order for each.
    """
    n = pattern.shape[0]
    member = np.zeros(n, dtype=bool)
    member[members.ravel()] = True
    shared = np.flatnonzero(~member)
    keep = np.concatenate([shared, members[0], members[1]])
    sub = pattern[keep][:, keep].tocoo()
    sub_sp = ca.Sparsity.triplet(len(keep), len(keep), sub.row.tolist(), sub.col.tolist())
    vertex, color = sub_sp.star_coloring(1, _NO_CUTOFF).get_triplet()
    sub_colors = np.empty(len(keep), dtype=np.int64)
    sub_colors[np.asarray(vertex)] = color
    colors = np.empty(n, dtype=np.int64)
    colors[shared] = sub_colors[: len(shared)]
    first_member = sub_colors[len(shared) : len(shared) + members.shape[1]]
    colors[members] = np.broadcast_to(first_member, members.shape)
    return colors


def recovery_indices(pattern: sparse.csr_matrix, colors: np.ndarray, rows, cols) -> np.ndarray | None:
    """For each nonzero (rows[i], cols[i]), its place in the column-major compressed
    Hessian H S (n x colours), or None if some nonzero cannot be recovered."""
    n, n_colors = pattern.shape[0], int(colors.max()) + 1
    onehot = sparse.csr_matrix((np.ones(n, dtype=np.int32), (np.arange(n), colors)), shape=(n, n_colors))
    counts = (pattern @ onehot).tocsr()  # counts[r, c]: neighbours of r (itself included) with colour c
    direct = np.asarray(counts[rows, colors[cols]]).ravel() == 1
    mirrored = np.asarray(counts[cols, colors[rows]]).ravel() == 1
    if not np.all(direct | mirrored):
        return None
    return np.where(direct, colors[cols] * n + rows, colors[rows] * n + cols)


def ensemble_hessian(nlp: TranscribedNLP) -> ca.Function | None:
    """IPOPT's ``hess_lag`` for a transcribed ensemble: (x, p, lam_f, lam_g) -> triu(Hessian of the Lagrangian)."""
    layout = nlp.layout
    if layout.states.shape[1] < 2:
        return None  # one member: nothing to gain
    lam_f, lam_g = ca.MX.sym("lam_f"), ca.MX.sym("lam_g", nlp.g.numel())
    gradient = ca.gradient(lam_f * nlp.f + ca.dot(lam_g, nlp.g), nlp.w)
    full = ca.jacobian_sparsity(gradient, nlp.w)
    pattern = _pattern(full)
    colors = member_periodic_colors(pattern, layout.member_variables())
    upper = ca.triu(full)
    rows, cols = (np.asarray(a) for a in upper.get_triplet())
    where = recovery_indices(pattern, colors, rows, cols)
    if where is None:
        return None
    seeds = ca.DM(ca.Sparsity.triplet(layout.size, int(colors.max()) + 1, list(range(layout.size)), colors.tolist()), 1)
    compressed = ca.jtimes(gradient, nlp.w, seeds)
    values = ca.vec(compressed)[where.tolist()]
    return ca.Function(
        "nlp_hess_l",
        [nlp.w, nlp.p, lam_f, lam_g],
        [ca.sparsity_cast(values, upper)],
        ["x", "p", "lam_f", "lam_g"],
        ["triu_hess_gamma_x_x"],
    )


def lagrangian_hessian(nlp: TranscribedNLP, choice: str) -> ca.Function | None:
    """IPOPT's ``hess_lag`` for ``choice`` (`SolverOptions.hessian`); None: CasADi's own ("exact" where the
    member colouring does not apply) or none at all ("limited_memory")."""
    if choice == "exact":
        return ensemble_hessian(nlp)
    if choice == "limited_memory":
        return None
    return objective_hessian(nlp)


def objective_hessian(nlp: TranscribedNLP) -> ca.Function:
    """lam_f times the Hessian of the objective alone (the constraints' curvature left out): the generalised
    Gauss-Newton Hessian when the objective is a sum of squares of residuals linear in w."""
    lam_f, lam_g = ca.MX.sym("lam_f"), ca.MX.sym("lam_g", nlp.g.numel())
    hessian, _ = ca.hessian(nlp.f, nlp.w)
    return ca.Function(
        "nlp_hess_l",
        [nlp.w, nlp.p, lam_f, lam_g],
        [ca.triu(lam_f * hessian)],
        ["x", "p", "lam_f", "lam_g"],
        ["triu_hess_gamma_x_x"],
    )
