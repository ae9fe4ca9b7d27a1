"""IPOPT's return codes as messages a user can act on."""

from __future__ import annotations

SUCCESS_CODES = frozenset({"Solve_Succeeded", "Solved_To_Acceptable_Level"})

MESSAGES = {
    "Solve_Succeeded": "Optimal solution found (KKT conditions met to the requested tolerance).",
    "Solved_To_Acceptable_Level": (
        "Solved to the 'acceptable' tolerance only; tighten `acceptable_tol` or raise `max_iter`."
    ),
    "Infeasible_Problem_Detected": "The problem appears infeasible: check bounds, initial/final conditions and T.",
    "Search_Direction_Becomes_Too_Small": "The search direction became too small (often a badly scaled problem).",
    "Diverging_Iterates": "The iterates diverged: add bounds on states or controls.",
    "User_Requested_Stop": (
        "Stopped by a callback (in a multi-start: running longer than `patience` x the median solve)."
    ),
    "Feasible_Point_Found": "A feasible point was found (square problem).",
    "Maximum_Iterations_Exceeded": "Reached the maximum number of iterations: raise `max_iter` or give a better guess.",
    "Restoration_Failed": "The restoration phase failed: the problem may be (locally) infeasible or badly scaled.",
    "Error_In_Step_Computation": "IPOPT could not compute a step (singular KKT system).",
    "Maximum_CpuTime_Exceeded": "The CPU time limit was reached. Try increasing `max_cpu_time`.",
    "Maximum_WallTime_Exceeded": "The wall time limit was reached. Try increasing `max_wall_time`.",
    "Not_Enough_Degrees_Of_Freedom": "More equality constraints than variables: the problem is over-determined.",
    "Invalid_Problem_Definition": "The problem definition is invalid.",
    "Invalid_Option": "An IPOPT option is invalid: check the `solver.ipopt` settings.",
    "Invalid_Number_Detected": "NaN or Inf in a function or derivative: check dynamics and costs at the guess.",
    "Insufficient_Memory": "IPOPT ran out of memory.",
    "Internal_Error": "IPOPT reported an internal error.",
    # gradient flow (`gradient_flow.py`)
    "Iterations_Done": "Gradient flow: ran the requested iterations (a first-order method: no optimality claimed).",
    "Gradient_Below_Tolerance": "Gradient flow: the step norm fell below the tolerance.",
    "Diverged": "Gradient flow: the cost stopped being finite; lower the learning rate or set clip. "
    "The last finite iterate is returned.",
}


def describe(code: str) -> str:
    """The readable message for an IPOPT return status."""
    return MESSAGES.get(code, f"IPOPT stopped with status {code!r}.")
