"""How a solve, a search or a sweep point ended: one type whose values carry the message a user reads.

`Status` is a string enum: a value compares equal to its code (IPOPT's own
spelling for IPOPT's codes, so files and JSON keep the strings they always
had), and carries ``message`` (what to do about it) and ``success`` (whether
the result is a point the toolkit stands behind). An IPOPT code missing from
the table still becomes a `Status`, with a generic message. Adding an outcome
means adding one line here.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    def __new__(cls, code: str, message: str, success: bool = False) -> Status:
        member = str.__new__(cls, code)
        member._value_ = code
        member.message = message
        member.success = success
        return member

    # IPOPT (its return_status strings)
    SOLVE_SUCCEEDED = (
        "Solve_Succeeded",
        "Optimal solution found (KKT conditions met to the requested tolerance).",
        True,
    )
    SOLVED_TO_ACCEPTABLE_LEVEL = (
        "Solved_To_Acceptable_Level",
        "Solved to the 'acceptable' tolerance only; tighten `acceptable_tol` or raise `max_iter`.",
        True,
    )
    INFEASIBLE_PROBLEM_DETECTED = (
        "Infeasible_Problem_Detected",
        "The problem appears infeasible: check bounds, initial/final conditions and T.",
    )
    SEARCH_DIRECTION_BECOMES_TOO_SMALL = (
        "Search_Direction_Becomes_Too_Small",
        "The search direction became too small (often a badly scaled problem).",
    )
    DIVERGING_ITERATES = ("Diverging_Iterates", "The iterates diverged: add bounds on states or controls.")
    USER_REQUESTED_STOP = (
        "User_Requested_Stop",
        "Stopped by a callback (in a multi-start: running longer than `patience` x the median solve).",
    )
    FEASIBLE_POINT_FOUND = ("Feasible_Point_Found", "A feasible point was found (square problem).")
    MAXIMUM_ITERATIONS_EXCEEDED = (
        "Maximum_Iterations_Exceeded",
        "Reached the maximum number of iterations: raise `max_iter` or give a better guess.",
    )
    RESTORATION_FAILED = (
        "Restoration_Failed",
        "The restoration phase failed: the problem may be (locally) infeasible or badly scaled.",
    )
    ERROR_IN_STEP_COMPUTATION = ("Error_In_Step_Computation", "IPOPT could not compute a step (singular KKT system).")
    MAXIMUM_CPUTIME_EXCEEDED = (
        "Maximum_CpuTime_Exceeded",
        "The CPU time limit was reached. Try increasing `max_cpu_time`.",
    )
    MAXIMUM_WALLTIME_EXCEEDED = (
        "Maximum_WallTime_Exceeded",
        "The wall time limit was reached. Try increasing `max_wall_time`.",
    )
    NOT_ENOUGH_DEGREES_OF_FREEDOM = (
        "Not_Enough_Degrees_Of_Freedom",
        "More equality constraints than variables: the problem is over-determined.",
    )
    INVALID_PROBLEM_DEFINITION = ("Invalid_Problem_Definition", "The problem definition is invalid.")
    INVALID_OPTION = ("Invalid_Option", "An IPOPT option is invalid: check the `solver.ipopt` settings.")
    INVALID_NUMBER_DETECTED = (
        "Invalid_Number_Detected",
        "NaN or Inf in a function or derivative: check dynamics and costs at the guess.",
    )
    INSUFFICIENT_MEMORY = ("Insufficient_Memory", "IPOPT ran out of memory.")
    INTERNAL_ERROR = ("Internal_Error", "IPOPT reported an internal error.")
    # the gradient flow (`gradient_flow.py`)
    ITERATIONS_DONE = (
        "Iterations_Done",
        "Gradient flow: ran the requested iterations (a first-order method: no optimality claimed).",
        True,
    )
    GRADIENT_BELOW_TOLERANCE = (
        "Gradient_Below_Tolerance",
        "Gradient flow: the step norm fell below the tolerance.",
        True,
    )
    DIVERGED = (
        "Diverged",
        "Gradient flow: the cost stopped being finite; lower the learning rate or set clip. "
        "The last finite iterate is returned.",
    )
    # the command line and the sweeps
    INTERRUPTED = ("interrupted", "Interrupted (Ctrl-C): the best solution finished by then.")
    ERROR = ("error", "No solution came back: the point's message says why.")
    NON_FINITE = ("non_finite", "The objective is not finite.")
    WORKER_DIED = ("worker_died", "The worker process solving it died (twice).")

    @classmethod
    def _missing_(cls, value: object) -> Status | None:
        """An IPOPT code not in the table: a Status all the same, with a generic message."""
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_, member._value_ = value.upper(), value
        member.message, member.success = f"IPOPT stopped with status {value!r}.", False
        return member
