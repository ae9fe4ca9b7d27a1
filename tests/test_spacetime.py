"""Space-time networks: quadrature rules, convergence of the discretised network in n_z at the rule's order,
and the plain neural ODE recovered exactly with n_z = d nodes and a delta readout."""

import numpy as np
import pytest

import ocp
from problems.learning.datasets import generate
from problems.learning.ensemble import random_controls
from problems.learning.l1 import l1_problem
from problems.learning.l2 import l2_problem
from problems.learning.networks import NetworkDynamics
from problems.learning.spacetime import SpaceTimeDynamics, quadrature
from problems.learning.turnpike import turnpike_problem


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


# --- variable width: a grid that moves with depth ---------------------------------------------------------


@pytest.mark.parametrize(("rule", "exact_degree"), [("gauss_legendre", 4), ("trapezoid", 1), ("midpoint", 1)])
def test_regridding_is_exact_for_what_the_rule_interpolates(rule, exact_degree):
    """Lagrange through 5 Gauss-Legendre nodes carries polynomials of degree 4 exactly to another grid;
    piecewise-linear regridding carries linear functions exactly (inside the nodes' hull)."""
    st = SpaceTimeDynamics(widths=(5, 7), rule=rule)
    z_from, z_to = quadrature(rule, 5), quadrature(rule, 7)[0]
    inside = (z_to >= z_from[0][0]) & (z_to <= z_from[0][-1])
    for d in range(exact_degree + 1):
        np.testing.assert_allclose((st.regrid(5, 7) @ z_from[0] ** d)[inside], (z_to**d)[inside], atol=1e-12)
    np.testing.assert_array_equal(st.regrid(5, 5), np.eye(5))


def variable_width_output(widths: tuple[int, ...], data) -> np.ndarray:
    """The readout of x(1, .) for the smooth kernel of `network_output`, on a grid that changes with depth."""
    st = SpaceTimeDynamics(widths=widths, rule="gauss_legendre", embedding="cosine")
    problem, symbols = l2_problem(data, st, T=1.0, lam=0.0, output="identity")
    u = st.controls_from(lambda z, zp: np.cos(2 * (z - zp)) * (1 + z * zp), lambda z: np.sin(np.pi * z))
    states = ocp.simulate(problem, ocp.MultipleShooting(K=len(widths)), u)
    return symbols.project(states)[:, -1, 0]


def test_a_network_of_growing_width_converges_to_the_continuous_one():
    """Widths n on the first half of the depth and 2 n on the second (Lagrange regridding at t = 1/2):
    the output approaches the 64-node network's spectrally as n grows, like a fixed Gauss-Legendre grid
    (measured 7.4e-3, 4.0e-5, 3.4e-10 for n = 4, 8, 16; the fixed n-node grid: 1.9e-3, 4.2e-5, 4.9e-10)."""
    data = generate("annulus", 5, seed=0)
    reference = network_output("gauss_legendre", 64, data)
    errors = [np.abs(variable_width_output((n,) * 5 + (2 * n,) * 5, data) - reference).max() for n in (4, 8, 16)]
    assert errors[0] > 100 * errors[1] > 100 * 100 * errors[2], errors
    assert errors[2] < 1e-9


@pytest.mark.parametrize("kind", ["l2", "turnpike", "l1"])
def test_a_constant_width_schedule_is_the_fixed_width_network(kind):
    """widths (3, 3, 3, 3) goes through the staged transcription (ocp.IntervalSizes, per-interval weights and
    readout) yet poses the fixed width-3 problem: the same optimum from the same start (rel 1e-10)."""
    data = generate("annulus", 20, seed=2)
    pose = {
        "l2": lambda dyn: l2_problem(data, dyn, T=2.0, lam=1e-3)[0],
        "turnpike": lambda dyn: turnpike_problem(data, dyn, T=2.0, lam=1e-2)[0],
        "l1": lambda dyn: l1_problem(data, dyn, T=2.0, lam=1e-2)[0],
    }[kind]
    scheduled = pose(SpaceTimeDynamics(widths=(3, 3, 3, 3)))
    fixed = pose(SpaceTimeDynamics(3))
    assert scheduled.interval_sizes is not None and fixed.interval_sizes is None
    method = ocp.MultipleShooting(K=4)
    start = ocp.InitialGuess(controls=random_controls(4, 12, 0.3, seed=1))
    options = ocp.SolverOptions(check_optimality=False)
    a = ocp.OCPSolver(fixed, method, options).solve(initial_guess=start)
    b = ocp.OCPSolver(scheduled, method, options).solve(initial_guess=start)
    assert a.success and b.success
    assert b.objective == pytest.approx(a.objective, rel=1e-10)
    np.testing.assert_allclose(b.controls, a.controls, atol=1e-7)


def test_a_width_schedule_learns_the_annulus_with_only_the_grids_entries():
    """Widths 2 -> 4 on the annulus: IPOPT's optimum classifies the training set, the kernel entries of
    absent nodes are not variables (0 in the solution), and gradient descent from the same start ends
    no lower than IPOPT."""
    data = generate("annulus", 60, seed=0)
    st = SpaceTimeDynamics(widths=(2, 2, 2, 4, 4, 4))
    problem, symbols = l2_problem(data, st, T=3.0, lam=1e-3)
    method = ocp.MultipleShooting(K=6)
    start = ocp.InitialGuess(controls=random_controls(6, problem.nu, 0.3, seed=0))
    sol = ocp.OCPSolver(problem, method).solve(initial_guess=start)
    assert sol.success
    U = sol.controls[:3, :16].reshape(3, 4, 4)
    assert np.all(U[:, 2:, :] == 0) and np.all(U[:, :, 2:] == 0) and np.all(sol.controls[:3, 18:] == 0)
    from problems.learning.ensemble import Classifier

    assert Classifier(problem, method, sol, symbols, np.array([-1.0, 1.0])).accuracy(data) >= 0.95
    flow = ocp.GradientFlow(problem, method, ocp.GradientFlowOptions(iterations=300, learning_rate=0.05))
    assert sol.objective <= flow.solve(initial_guess=start).objective
