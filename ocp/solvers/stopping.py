"""Stopping an IPOPT solve from outside: a predicate asked once per iteration.

IPOPT's own limits (``max_iter``, ``max_wall_time``) are fixed when CasADi
builds the solver object; a multi-start needs a limit that moves as its
solves finish (`multistart.py`, ``patience``), so it asks a predicate instead.
"""

from __future__ import annotations

from collections.abc import Callable

import casadi as ca


class StopWhen(ca.Callback):
    """CasADi's ``iteration_callback``: returns 1, which makes IPOPT stop with
    status ``User_Requested_Stop``, once ``should_stop()`` is true."""

    def __init__(self, nx: int, ng: int, np_: int, should_stop: Callable[[], bool]):
        ca.Callback.__init__(self)
        self._sizes = {"f": 1, "x": nx, "lam_x": nx, "g": ng, "lam_g": ng, "p": np_, "lam_p": np_}
        self._should_stop = should_stop
        self.construct("stop_when", {})

    def get_n_in(self) -> int:
        return ca.nlpsol_n_out()

    def get_n_out(self) -> int:
        return 1

    def get_name_in(self, i: int) -> str:
        return ca.nlpsol_out(i)

    def get_name_out(self, i: int) -> str:
        return "stop"

    def get_sparsity_in(self, i: int) -> ca.Sparsity:
        return ca.Sparsity.dense(self._sizes[ca.nlpsol_out(i)], 1)

    def eval(self, arg):
        return [1 if self._should_stop() else 0]
