"""Integrator order: the simulation error shrinks like (h / M)^p."""

import casadi as ca
import numpy as np
import pytest

import ocp


@pytest.mark.parametrize("method", [ocp.Euler, ocp.Midpoint, ocp.RK4])
def test_observed_order_matches_method_order(method):
    # x' = -2 t x + u with u = 0: x(t) = x0 exp(-t^2), time-varying and nonlinear in t.
    x, u, t = ca.SX.sym("x"), ca.SX.sym("u"), ca.SX.sym("t")
    problem = ocp.Problem(
        state=x, control=u, dynamics=-2 * t * x + u, time=t, horizon=ocp.Horizon.fixed(1.5), initial_state=[1.0]
    )
    exact = np.exp(-(1.5**2))
    errors = []
    for steps in (8, 16, 32, 64):
        grid = ocp.MultipleShooting(K=2, integrator=method(steps))
        states = ocp.simulate(problem, grid, np.zeros((2, 1)))
        errors.append(abs(states[0, -1, 0] - exact))
    observed = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(observed - method.order) < 0.15), observed


def test_integrator_lookup_by_name():
    assert ocp.integrator("midpoint", 3) == ocp.Midpoint(3)
    with pytest.raises(ValueError, match="unknown integrator 'rk5'"):
        ocp.integrator("rk5")
    with pytest.raises(ValueError, match="steps"):
        ocp.RK4(0)
