"""Replaying a member function as vector operations over a batch equals Function.map, derivatives included."""

import casadi as ca
import numpy as np
import pytest

from ocp.nlp.vectorize import batched, replayable

B = 7


def member_function() -> ca.Function:
    """Member inputs x (2) and d (1), shared u (3) and scalar c; one output free of member inputs."""
    x, d, u, c = ca.SX.sym("x", 2), ca.SX.sym("d"), ca.SX.sym("u", 3), ca.SX.sym("c")
    out = ca.vertcat(ca.tanh(x[0]) * u[0] + ca.exp(-(x[1] ** 2)) * d, ca.fmax(x[0], u[1]) - 2.5 / (1 + c**2))
    shared_only = ca.vertcat(u[2] ** 3, 4.0)
    return ca.Function("f", [x, u, c, d], [out, shared_only], ["x", "u", "c", "d"], ["out", "shared_only"])


def arguments(rng):
    return rng.normal(size=(2, B)), rng.normal(size=3), rng.normal(), rng.normal(size=(1, B))


def test_values_equal_map():
    f = member_function()
    args = arguments(np.random.default_rng(0))
    vec, mapped = batched(f, B, ("x", "d")), f.map(B)
    for a, b in zip(vec(*args), mapped(*args), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-14, atol=1e-14)
    assert vec.size_out(1) == (2, B)  # shared-only output broadcast to every member


def test_first_and_second_derivatives_equal_map():
    f = member_function()
    x, u, c, d = ca.MX.sym("x", 2, B), ca.MX.sym("u", 3), ca.MX.sym("c"), ca.MX.sym("d", 1, B)
    args_mx = [x, u, c, d]
    rng = np.random.default_rng(1)
    values = arguments(rng)
    weights = rng.normal(size=(2, B))
    derivatives = []
    for g in (batched(f, B, ("x", "d")), f.map(B)):
        scalar = ca.sum2(ca.sum1(weights * g(*args_mx)[0]))  # a Lagrangian-like weighted sum
        z = ca.vertcat(ca.vec(x), u)
        jac = ca.Function("j", args_mx, [ca.jacobian(g(*args_mx)[0], z)])
        hess = ca.Function("h", args_mx, [ca.hessian(scalar, z)[0]])
        derivatives.append([np.asarray(jac(*values)), np.asarray(hess(*values))])
    for a, b in zip(*derivatives, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_functions_it_cannot_replay_are_refused_by_name():
    x = ca.MX.sym("x", 2)
    mx = ca.Function("mx_fun", [x], [ca.sin(x)])
    assert not replayable(mx)
    with pytest.raises(ValueError, match="mx_fun"):
        batched(mx, B, ("x",))
    with pytest.raises(ValueError, match="unknown member inputs"):
        batched(member_function(), B, ("z",))
