"""Which problems the condensed methods run on: one rule for the first-order phase and the gradient flow.

Both eliminate the states by forward simulation and descend on the controls
(and free parameters) alone, so they keep box bounds on those and nothing
else: no path, initial or final constraints, no finite state bounds. They
differ in two places, each a parameter here: the first-order phase hands its
point to the full NLP, whose L1 slacks it cannot set (so it refuses every L1
cost), while the gradient flow takes an L1 cost's subgradient (and refuses
only a bounded one, a constraint); the gradient flow runs on a fixed horizon.
"""

from __future__ import annotations

import numpy as np

from ocp.problem.problem import Problem


def condensed_obstacle(problem: Problem, who: str, *, any_l1_cost: bool, free_horizon: bool) -> str:
    """Why the condensed method ``who`` cannot run on ``problem`` ('' when it can); ``any_l1_cost``: every L1
    cost is an obstacle (else only a bounded one), ``free_horizon``: a free final time is one."""
    if problem.path_constraints or problem.initial_constraints or problem.final_constraints:
        return f"the problem has path, initial or final constraints ({who} keeps box bounds only)"
    if any_l1_cost and problem.l1_costs:
        return "the problem has L1 costs (their slack constraints are not box constraints)"
    if any(c.bound is not None for c in problem.l1_costs.values()):
        return "an L1 cost has a bound (a constraint, not a box)"
    lb, ub = problem.state_bounds.arrays(problem.nx, "state_bounds")
    if np.any(np.isfinite(lb)) or np.any(np.isfinite(ub)):
        return f"the problem has finite state bounds ({who} keeps box bounds only)"
    if free_horizon and problem.horizon.free:
        return f"the final time is free ({who} here runs on a fixed horizon)"
    return ""
