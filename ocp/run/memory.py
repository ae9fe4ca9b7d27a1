"""Refuse a config whose NLP cannot fit in this machine's memory, before anything large is allocated.

The estimate is empirical: the peak memory of building the NLP and running IPOPT grew like N x K x (nx +
nu)^2 (the Jacobian and Hessian blocks of every member on every interval) at 190 to 290 bytes per unit,
measured on problem A1 (nx = 2, nu = 6) at (N, K) = (100, 20) to (100, 1000) and (1000, 20): 42 MB to
1.8 GB above the interpreter's own (benchmarks/README.md, "Memory guard"). `BYTES_PER_UNIT` takes the
high end. A config is refused when the estimate exceeds the machine's physical memory: a solve that
would swap for hours, or end in a MemoryError traceback, becomes one line naming K and N and the estimate.
"""

from __future__ import annotations

import os

from ocp.errors import ConfigError
from ocp.run import registry
from ocp.run.settings import RunSettings

BYTES_PER_UNIT = 300  # peak bytes per member x interval x (nx + nu)^2, the measured high end


def physical_memory() -> int | None:
    """This machine's physical memory in bytes (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def nlp_bytes(N: int, K: int, nx: int, nu: int) -> int:
    """The estimated peak memory of building and solving the NLP."""
    return BYTES_PER_UNIT * N * K * max(1, nx + nu) ** 2


def check_fits(N: int, K: int, nx: int, nu: int, limit: int | None = None) -> None:
    """ConfigError when the NLP of this size would not fit in ``limit`` bytes (default: physical memory)."""
    limit = physical_memory() if limit is None else limit
    need = nlp_bytes(N, K, nx, nu)
    if limit is None or need <= limit:
        return
    size = f"N = {N} trajectories x K = {K} intervals x (nx + nu)^2 = {max(1, nx + nu) ** 2}"
    if (N, nx, nu) == (1, 1, 0):  # the check before the problem is posed: K alone
        size = f"K = {K} intervals, even for one trajectory of one state"
    raise ConfigError(
        f"'K': the NLP would need about {need / 2**30:.3g} GiB ({size}, at {BYTES_PER_UNIT} bytes each), more "
        f"than this machine's {limit / 2**30:.3g} GiB of memory; lower K or the number of data points"
    )


def build_within_memory(ptype: registry.ProblemType, settings, run: RunSettings) -> registry.Setup:
    """``ptype.build``, refused before it runs when K alone could not fit (the least any problem needs: one
    member, one state, no control), and after it, before any NLP is built, when the posed problem could not."""
    check_fits(1, run.K, 1, 0)
    setup = ptype.build(settings, run)
    problem = setup.problem
    check_fits(problem.N, (setup.run or run).K, problem.nx, problem.nu)
    return setup
