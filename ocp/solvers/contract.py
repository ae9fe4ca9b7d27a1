"""What every solver of the toolkit promises its callers (IPOPT's `OCPSolver`, the `GradientFlow`, the `GaussNewton`).

A solver satisfies `Solver` when:

1. It is built once, from ``(problem, method, options)``: the expensive part
   (transcription, derivatives, the solver's own set-up) happens in the
   constructor, and ``build_time_s`` says how long it took.
2. ``solve(*, parameters=None, T=None, initial_guess=None, initial_state=None,
   data=None)`` solves once and may be called any number of times with new
   values of the problem's fixed parameters, a new fixed horizon, new initial
   states or ensemble data, without building again.
3. ``initial_guess`` is an `InitialGuess` or a `Solution`; a solution of the
   same NLP (equal `Solution.nlp_key`) may start the solver where it ended,
   any other is interpolated onto this grid and used as a guess.
4. It returns a `Solution` whatever happens to the numerical method: a
   failure to converge, a divergence or a stop from outside is a `Status` on
   the solution (``success`` False), never an exception. Exceptions are for
   bad input (`ProblemError`) and for no solution at all (`SolveError`).
5. The problem it refuses (constraints it cannot handle) it refuses in the
   constructor, with a `ProblemError` that says why.

Run settings pick a solver by name (`ocp/run/settings.py`, ``solver.name``);
`ocp/run/solve.py` dispatches on it.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ocp.solvers.solution import Solution


@runtime_checkable
class Solver(Protocol):
    build_time_s: float

    def solve(
        self,
        *,
        parameters: Any = None,
        T: float | None = None,
        initial_guess: Any = None,
        initial_state: Any = None,
        data: Any = None,
    ) -> Solution: ...
