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


def double_wells(tilts: tuple[float, ...] = (0.3, -0.2)) -> ocp.Problem:
    """A landscape with a known set of minima: controls u (one interval of length 1, K = 1) and the cost
    sum_j (u_j^2 - 1)^2 + a_j u_j, independent tilted double wells. Each well has two minima, near
    u_j = -sign(a_j) (the lower) and +sign(a_j), so there are 2^m local minima and the global one takes
    the lower side of every well: sum_j min over the two stationary points of (u^2 - 1)^2 + a_j u."""
    x, u = ca.SX.sym("x"), ca.SX.sym("u", len(tilts))
    wells = sum((u[j] ** 2 - 1) ** 2 + a * u[j] for j, a in enumerate(tilts))
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=0 * x,
        horizon=ocp.Horizon.fixed(1.0),
        initial_state=[0.0],
        running_costs={"wells": wells},
    )
