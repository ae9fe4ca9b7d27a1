"""Space-time networks: quadrature rules, convergence of the discretised network in n_z at the rule's order,
and the plain neural ODE recovered exactly with n_z = d nodes and a delta readout."""

import numpy as np
import pytest

import ocp
from problems.datasets import generate
from problems.l1 import l1_problem
from problems.l2 import l2_problem
from problems.learning import random_controls
from problems.networks import NetworkDynamics
from problems.spacetime import SpaceTimeDynamics, quadrature
from problems.turnpike import turnpike_problem


@pytest.mark.parametrize("rule", ["gauss_legendre", "trapezoid", "midpoint"])
def test_quadrature_rules_integrate_the_polynomials_they_should(rule):
    a, b, n = -0.5, 2.0, 5
    z, w = quadrature(rule, n, a, b)
    assert w.sum() == pytest.approx(b - a, rel=1e-14) and np.all((z >= a) & (z <= b))
    exact = {d: (b ** (d + 1) - a ** (d + 1)) / (d + 1) for d in range(2 * n + 1)}
    degree = {"gauss_legendre": 2 * n - 1, "trapezoid": 1, "midpoint": 1}[rule]
    for d in range(degree + 1):
        assert np.dot(w, z**d) == pytest.approx(exact[d], rel=1e-12)
    assert np.dot(w, z ** (degree + 1)) != pytest.approx(exact[degree + 1], rel=1e-6)  # and no more


def network_output(rule: str, n: int, data) -> np.ndarray:
    """The readout (quadrature mean over Omega) of x(1, .) for a smooth kernel, bias and embedding."""
    st = SpaceTimeDynamics(n, "tanh", rule, (0.0, 1.0), "cosine", "mean")
    problem, symbols = l2_problem(data, st, T=1.0, lam=0.0, output="identity")
    u = st.controls_from(lambda z, zp: np.cos(2 * (z - zp)) * (1 + z * zp), lambda z: np.sin(np.pi * z))
    K = 10
    states = ocp.simulate(problem, ocp.MultipleShooting(K=K), np.tile(u, (K, 1)), initial_states=st.embed(data.x))
    return symbols.project(states)[:, -1, 0]


def test_the_discretised_network_converges_in_the_width_at_the_rules_order():
    """Against Gauss-Legendre on 64 nodes: trapezoid and midpoint errors fall 4x per doubling of n_z (order
    2: measured 2.09-2.45 and 2.00-2.02), Gauss-Legendre's spectrally (4e-5 at 8 nodes, 5e-10 at 16)."""
    data = generate("annulus", 5, seed=0)
    reference = network_output("gauss_legendre", 64, data)
    for rule in ("trapezoid", "midpoint"):
        errors = [np.abs(network_output(rule, n, data) - reference).max() for n in (8, 16, 32)]
        orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
        assert np.all((orders > 1.9) & (orders < 2.3)), (rule, orders)
    gauss = [np.abs(network_output("gauss_legendre", n, data) - reference).max() for n in (8, 16)]
    assert gauss[0] < 1e-3 and gauss[1] < 1e-8


@pytest.mark.parametrize("kind", ["l2", "turnpike", "l1"])
def test_with_d_nodes_and_a_delta_readout_it_is_the_plain_neural_ode(kind):
    """Gauss-Legendre with 2 nodes on [0, 2] has weights 1, 1: piecewise embedding, node readout and
    the normalised controls make x_j' = sum_l w_jl tanh(x_l) + b_j, the "inside" network; both OCPs
    reach the same optimum from the same start (rel 1e-10) under every regularisation."""
    data = generate("annulus", 24, seed=3)
    spacetime = SpaceTimeDynamics(2, "tanh", "gauss_legendre", (0.0, 2.0), "piecewise", "nodes")
    pose = {
        "l2": lambda dyn: l2_problem(data, dyn, T=3.0, lam=1e-3)[0],
        "turnpike": lambda dyn: turnpike_problem(data, dyn, T=3.0, lam=1e-2)[0],
        "l1": lambda dyn: l1_problem(data, dyn, T=3.0, lam=1e-2)[0],
    }[kind]
    method = ocp.MultipleShooting(K=6)
    start = ocp.InitialGuess(controls=random_controls(6, 6, 0.3, seed=3))
    options = ocp.SolverOptions(check_optimality=False)
    plain = ocp.OCPSolver(pose(NetworkDynamics("inside", "tanh")), method, options).solve(initial_guess=start)
    space_time = ocp.OCPSolver(pose(spacetime), method, options).solve(initial_guess=start)
    assert plain.success and space_time.success
    assert space_time.objective == pytest.approx(plain.objective, rel=1e-10)
    np.testing.assert_allclose(space_time.controls, plain.controls, atol=1e-7)


def test_embedding_and_readout_are_the_documented_maps():
    st = SpaceTimeDynamics(4, "tanh", "midpoint", (0.0, 1.0), "piecewise", "mean")  # nodes 1/8, 3/8, 5/8, 7/8
    np.testing.assert_array_equal(st.embed(np.array([[1.0, 2.0]])), [[1.0, 1.0, 2.0, 2.0]])
    import casadi as ca

    x = ca.SX.sym("x", 4)
    P = ca.Function("P", [x], [st.readout(x, 2)])
    np.testing.assert_allclose(np.asarray(P([1.0, 3.0, 5.0, 9.0])).ravel(), [2.0, 7.0])  # means of each half
    cosine = SpaceTimeDynamics(4, "tanh", "midpoint", (0.0, 1.0), "cosine", "mean")
    z = np.array([1, 3, 5, 7]) / 8
    np.testing.assert_allclose(cosine.embed(np.array([[1.0, 2.0]]))[0], 1.0 + 2.0 * np.cos(np.pi * z))


def test_bad_space_time_settings_name_the_cause():
    with pytest.raises(ValueError, match="trapezoid' needs 2 or more nodes"):
        SpaceTimeDynamics(1, rule="trapezoid")
    with pytest.raises(ValueError, match="a < b"):
        SpaceTimeDynamics(4, domain=(1.0, 0.0))
    with pytest.raises(ValueError, match="no quadrature node in part 1 of 2"):
        import casadi as ca

        SpaceTimeDynamics(1, rule="midpoint").readout(ca.SX.sym("x", 1), 2)
