"""The ensemble Hessian (coloured once per member) equals CasADi's own Hessian of the Lagrangian."""

from dataclasses import replace

import casadi as ca
import numpy as np
import pytest
from test_ensemble import METHOD, ensemble_problem

import ocp
from ocp.nlp.hessian import ensemble_hessian
from ocp.nlp.transcription import transcribe


def casadi_hessian(nlp) -> ca.Function:
    fn = ca.Function("nlp", [nlp.w, nlp.p], [nlp.f, nlp.g], ["x", "p"], ["f", "g"])
    return ca.nlpsol("reference", "ipopt", fn, {"print_time": False}).get_function("nlp_hess_l")


def rich_problem(B: int) -> ocp.Problem:
    """Free T, a free parameter, member and shared path constraints: every kind of shared variable."""
    rng = np.random.default_rng(B)
    base = ensemble_problem(rng.normal(size=(B, 2)), rng.normal(size=(B, 1)))
    x, u = base.state, base.control
    k = ca.SX.sym("k")
    return replace(
        base,
        dynamics=ca.vertcat(x[1], -k * ca.sin(x[0]) + u[0] * ca.tanh(x[1]) + u[1]),
        free_parameters=(ocp.FreeParameter(k, guess=1.0, bounds=ocp.Bounds(0.5, 2.0)),),
        horizon=ocp.Horizon.bounded(0.5, 4.0, guess=2.0),
        path_constraints=(ocp.Constraint.at_least(x[1] * x[0], -2.0), ocp.Constraint(u[0] * u[1], -1.0, 1.0)),
    )


@pytest.mark.parametrize("B", [2, 5])
def test_equals_casadi_hessian_at_random_points(B):
    nlp = transcribe(rich_problem(B), METHOD)
    ours, reference = ensemble_hessian(nlp), casadi_hessian(nlp)
    assert ours is not None
    rng = np.random.default_rng(0)
    for _ in range(3):
        args = (
            rng.normal(size=nlp.w.numel()),
            rng.normal(size=nlp.p.numel()),
            rng.normal(),
            rng.normal(size=nlp.g.numel()),
        )
        a, b = ours(*args), reference(*args)
        assert a.sparsity() == b.sparsity()
        np.testing.assert_allclose(np.array(a.nonzeros()), np.array(b.nonzeros()), rtol=1e-12, atol=1e-12)


def test_one_member_is_left_to_casadi():
    nlp = transcribe(ensemble_problem(np.array([[1.0, 0.0]]), np.array([[0.2]])), METHOD)
    assert ensemble_hessian(nlp) is None
