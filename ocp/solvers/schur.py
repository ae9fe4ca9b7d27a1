"""The linear algebra of the lifted Gauss-Newton step (`gauss_newton.py`): condensing and a Schur complement.

At a point of a multiple-shooting NLP without controls, the linearised gaps are

    dx_{b,k+1} = A_bk dx_bk + B_bk dtheta - c_bk          (c_bk: the gap x_{b,k+1} - F(x_bk, theta))

and the objective's model is sum_bk (g_bk' dx_bk + dx_bk' H_bk dx_bk / 2) + g_theta' dtheta + dtheta' H_theta
dtheta / 2, with H_bk the objective's (constant, positive semidefinite) Hessian block of node k of member b.
Forward recursion writes each dx_bk = a_bk + P_bk dx_b0 + S_bk dtheta, which leaves a quadratic in (dx_b0 per
member, dtheta) with an arrow structure: small blocks per member, coupled only through the shared parameters.
Eliminating each member's dx_b0 (an nx x nx solve) leaves one dense system in dtheta, the Schur complement.
Forming it costs sum_bk nx p^2 (one matrix product per node); it is the iteration's main cost with thousands
of weights, and it is done once per iteration: a Levenberg-Marquardt retry only adds mu to the diagonals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROWS_PER_PRODUCT = 4096  # rows of (R S) gathered before one product into the p x p Schur block


@dataclass(frozen=True)
class Linearisation:
    """The NLP at one point: gaps and their Jacobians per member and interval, and the objective's gradient
    and Hessian blocks. Shapes: A (N, K, nx, nx), B (N, K, nx, p), gaps (N, K, nx) (gap k closes node k + 1),
    grad_x (N, K + 1, nx), grad_theta (p,), H_x (N, K + 1, nx, nx), H_theta (p, p); ``free_start``: whether
    the members' initial states are variables."""

    A: np.ndarray
    B: np.ndarray
    gaps: np.ndarray
    grad_x: np.ndarray
    grad_theta: np.ndarray
    H_x: np.ndarray
    H_theta: np.ndarray
    free_start: bool

    def costates(self) -> np.ndarray:
        """(N, K + 1, nx) lambda_k = grad_x_k + A_k' lambda_{k+1} (lambda_K = grad_x_K): the derivative of the
        objective by node k's state with every later node simulated, the negated gap multipliers at a KKT
        point. lambda_0 is that of the initial state."""
        lam = np.empty_like(self.grad_x)
        lam[:, -1] = self.grad_x[:, -1]
        for k in range(self.A.shape[1] - 1, -1, -1):
            lam[:, k] = self.grad_x[:, k] + np.einsum("bji,bj->bi", self.A[:, k], lam[:, k + 1])
        return lam

    def stationarity(self) -> tuple[float, np.ndarray]:
        """(the largest entry of the Lagrangian's gradient in theta and the free initial states, the costates):
        zero at a KKT point. The node states after the first have zero gradient by the choice of costates."""
        lam = self.costates()
        d_theta = self.grad_theta + np.einsum("bkip,bki->p", self.B, lam[:, 1:])
        worst = float(np.max(np.abs(d_theta), initial=0.0))
        if self.free_start:
            worst = max(worst, float(np.max(np.abs(lam[:, 0]))))
        return worst, lam


@dataclass(frozen=True)
class Step:
    dx: np.ndarray  # (N, K + 1, nx)
    dtheta: np.ndarray  # (p,)
    linear: float  # the objective's gradient times the step
    curvature: float  # the step' Hessian step: the model's change is linear + curvature / 2


class Condensed:
    """The reduced quadratic in (dx_b0, dtheta) of a `Linearisation`, formed once; `step(mu)` solves it with
    Levenberg-Marquardt damping mu on those variables."""

    def __init__(self, lin: Linearisation):
        self.lin = lin
        N, K1, nx = lin.grad_x.shape
        p = lin.grad_theta.size
        P = np.broadcast_to(np.eye(nx), (N, nx, nx)).copy()
        S = np.zeros((N, nx, p))
        a = np.zeros((N, nx))
        self.Q00 = np.zeros((N, nx, nx))
        self.Q0t = np.zeros((N, nx, p))
        self.Qtt = lin.H_theta.copy()
        self.q0 = np.zeros((N, nx))
        self.qt = lin.grad_theta.copy()
        # H = R' R per node block: sum S' H S = (R S)' (R S), one product over many nodes' rows at a time
        # (one per node is as many passes over a p x p matrix as there are nodes: memory-bound, 10x slower)
        values, vectors = np.linalg.eigh(lin.H_x)
        roots = np.sqrt(np.clip(values, 0.0, None))[..., :, None] * np.swapaxes(vectors, -1, -2)
        rows: list[np.ndarray] = []
        for k in range(K1):
            H, R = lin.H_x[:, k], roots[:, k]
            linear = lin.grad_x[:, k] + np.einsum("bij,bj->bi", H, a)
            self.Q00 += np.einsum("bji,bjk->bik", P, H @ P)
            self.q0 += np.einsum("bji,bj->bi", P, linear)
            if k > 0 and np.any(H):  # S_0 = 0; a node without samples adds nothing
                RS = R @ S
                self.Q0t += np.einsum("bji,bjp->bip", R @ P, RS)
                self.qt += np.einsum("bjp,bj->p", S, linear)
                rows.append(RS.reshape(-1, p))
                if sum(r.shape[0] for r in rows) >= ROWS_PER_PRODUCT:
                    self._add_products(rows)
            if k < K1 - 1:
                A = lin.A[:, k]
                P, S, a = A @ P, A @ S + lin.B[:, k], np.einsum("bij,bj->bi", A, a) - lin.gaps[:, k]
        self._add_products(rows)
        self.scale = float(max(np.max(np.abs(np.diagonal(self.Qtt)), initial=0.0), np.max(np.abs(self.Q00))))

    def _add_products(self, rows: list[np.ndarray]) -> None:
        if rows:
            stacked = np.concatenate(rows)
            self.Qtt += stacked.T @ stacked
            rows.clear()

    def step(self, mu: float) -> Step:
        lin = self.lin
        N, _, nx = lin.grad_x.shape
        p = lin.grad_theta.size
        Z = self.Qtt + mu * np.eye(p)
        rhs = -self.qt
        if lin.free_start:
            # Each member's block Q00 + mu I, eliminated: Z -= Q0t' (Q00 + mu I)^-1 Q0t (by Cholesky factors).
            L = np.linalg.cholesky(self.Q00 + mu * np.eye(nx))
            M = np.linalg.solve(L, self.Q0t)  # (N, nx, p): L^-1 Q0t
            m = np.linalg.solve(L, self.q0[..., None])[..., 0]
            Z -= M.reshape(-1, p).T @ M.reshape(-1, p)
            rhs += np.einsum("bip,bi->p", M, m)
        # LU, not Cholesky: the OpenBLAS LAPACK measured here factorises 4482 x 4482 in 1.9 s by LU and 7 s by
        # Cholesky (and 36 s by the symmetric indefinite routine)
        dtheta = np.linalg.solve(Z, rhs)
        if not np.all(np.isfinite(dtheta)):
            raise np.linalg.LinAlgError("the damped Schur complement is singular")
        dx = np.zeros_like(lin.grad_x)
        if lin.free_start:
            y = -(m + M @ dtheta)
            dx[:, 0] = np.linalg.solve(np.swapaxes(L, 1, 2), y[..., None])[..., 0]
        for k in range(lin.A.shape[1]):
            dx[:, k + 1] = np.einsum("bij,bj->bi", lin.A[:, k], dx[:, k]) + lin.B[:, k] @ dtheta - lin.gaps[:, k]
        linear = float(np.sum(lin.grad_x * dx)) + float(lin.grad_theta @ dtheta)
        curvature = float(np.einsum("bki,bkij,bkj->", dx, lin.H_x, dx)) + float(dtheta @ lin.H_theta @ dtheta)
        return Step(dx, dtheta, linear, curvature)
