"""Small problems with known optima, shared by the tests."""

import casadi as ca

import ocp


def steering(T: float = 2.0, lam: float = 0.5) -> ocp.Problem:
    """x' = u, x(0) = 0, min lam int u^2 + (x(T) - 1)^2: u = 1 / (lam + T), optimum lam / (lam + T).

    Euler is exact for piecewise-constant u, so the discrete optimum is the continuous one on any grid.
    """
    x, u, lam_sym = ca.SX.sym("x"), ca.SX.sym("u"), ca.SX.sym("lam")
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=u,
        horizon=ocp.Horizon.fixed(T),
        initial_state=[0.0],
        parameters=(ocp.Parameter(lam_sym, lam),),
        running_costs={"effort": lam_sym * u**2},
        terminal_costs={"miss": (x - 1) ** 2},
    )
