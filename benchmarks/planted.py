"""A landscape with one planted basin of known mass: the coverage claim's calibration (`calibration.py`).

One control u (one interval, no dynamics), cost

    f(u) = u^2 / 2 - (c^2 / 2 + 0.5) exp(-(u - c)^2 / (2 width^2)),

a broad bowl with its minimum near 0 and a narrow well near c whose bottom
lies near -0.5, below the bowl's: the global minimum. A random start draws u0 ~ N(0, scale^2) (the search's start
distribution). Which minimum a local search from u0 reaches is a
deterministic function of u0 and the strategy, so the well's basin mass
under the search's mixture is an integral over u0, computed here on a fine
grid of starts (`basin_mass`): the planted mass is known, not assumed.
`offset_for(p)` finds the well's position c that gives mass p.

A narrow well (width 0.008 at c = 1.5, `calibration.py --family adam_mostly`) is a basin that one
strategy of the mixture reaches far more often than the others: Adam's small fixed steps walk down the
bowl from starts beyond the well and stop in it, where IPOPT's Newton steps from there jump over it to
the bowl's minimum (measured: adam 7.0 % of starts, first_order and simulate 0.87 % each, from the well's
own neighbourhood only).
"""

from __future__ import annotations

import numpy as np

WIDTH = 0.15
GRID = np.linspace(-6.0, 6.0, 1201)  # starts for the basin integral: spacing 0.01


def landscape(offset: float, width: float = WIDTH):
    import casadi as ca

    import ocp

    x, u = ca.SX.sym("x"), ca.SX.sym("u")
    f = u**2 / 2 - (offset**2 / 2 + 0.5) * ca.exp(-((u - offset) ** 2) / (2 * width**2))
    problem = ocp.Problem(
        state=x, control=u, dynamics=0 * x, horizon=ocp.Horizon.fixed(1.0), initial_state=[0.0], running_costs={"f": f}
    )
    return problem, ocp.MultipleShooting(K=1, integrator=ocp.Euler())


def well_value(offset: float, width: float = WIDTH) -> float:
    """The global minimum: a local solve from the well's centre."""
    import ocp

    problem, method = landscape(offset, width)
    solver = ocp.OCPSolver(problem, method, ocp.SolverOptions(first_order_iterations=0, check_optimality=False))
    return solver.solve(initial_guess=ocp.InitialGuess(controls=np.array([[offset]]))).objective


def basin_mass(offset: float, strategies, scale: float = 1.0, grid=GRID, width: float = WIDTH) -> float:
    """The share of N(0, scale^2) starts from which a local search with a strategy drawn uniformly from
    ``strategies`` ends in the well: the grid's starts, weighted by the normal density (trapezoid rule)."""
    return float(np.mean(strategy_masses(offset, strategies, scale, grid, width)))


def strategy_masses(offset: float, strategies, scale: float = 1.0, grid=GRID, width: float = WIDTH) -> list[float]:
    """Each strategy's share of N(0, scale^2) starts that end in the well (the grid spacing must resolve
    the well: at most width / 3)."""
    import ocp
    from ocp.search.strategies import solve_with

    problem, method = landscape(offset, width)
    solver = ocp.OCPSolver(problem, method, ocp.SolverOptions(check_optimality=False))
    target = well_value(offset, width)
    weights = np.exp(-0.5 * (grid / scale) ** 2)
    weights /= np.trapezoid(weights, grid)
    masses = []
    for strategy in strategies:
        hit = [
            solve_with(solver, strategy, initial_guess=ocp.InitialGuess(controls=np.array([[u0]]))).objective
            < target + 1e-6
            for u0 in grid
        ]
        masses.append(float(np.trapezoid(weights * np.asarray(hit, float), grid)))
    return masses


def offset_for(mass: float, strategies, scale: float = 1.0) -> float:
    """The well's position whose basin holds about ``mass`` of the starts (bisection on c > 0 with a
    coarse grid: the farther the well, the smaller its basin; `basin_mass` then measures it exactly)."""
    coarse = np.linspace(-6.0, 6.0, 241)
    low, high = 0.3, 4.5
    for _ in range(10):
        mid = 0.5 * (low + high)
        if basin_mass(mid, strategies, scale, coarse) > mass:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)
