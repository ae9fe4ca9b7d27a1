"""Refuse a config whose NLP cannot fit in this machine's memory, before anything large is allocated.

Every solver stores the states of every member on every node, so N x (K + 1) x nx state entries are a
floor under the memory of any solve. Measured on problem A1 (nx = 2, nu = 6), building the NLP and running
IPOPT took 6 to 10.5 KB per state entry above the interpreter's own ((N, K) = (100, 20) to (100, 1000)
and (1000, 20): 42 MB to 1.8 GB; benchmarks/README.md, "Memory guard"); the gradient flow takes less.
`BYTES_PER_STATE_ENTRY` is set far below both (300 bytes), so that only a config that surely cannot fit
is refused: K = 10^9, or N = 200 points at K = 10^6, ends in one line naming K and N and the estimate
instead of a MemoryError traceback or hours of swapping, and no shipped config comes near it.
"""

from __future__ import annotations

import os

from ocp.errors import ConfigError
from ocp.run import registry
from ocp.run.settings import RunSettings

BYTES_PER_STATE_ENTRY = 300  # a floor: the measured cost per state entry of an IPOPT solve is 20-35 times more


def physical_memory() -> int | None:
    """This machine's physical memory in bytes (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def nlp_bytes(N: int, K: int, nx: int) -> int:
    """The least memory a solve of N members on K intervals with nx states needs."""
    return BYTES_PER_STATE_ENTRY * N * (K + 1) * max(1, nx)


def check_fits(N: int, K: int, nx: int, limit: int | None = None) -> None:
    """ConfigError when the NLP of this size cannot fit in ``limit`` bytes (default: physical memory)."""
    limit = physical_memory() if limit is None else limit
    need = nlp_bytes(N, K, nx)
    if limit is None or need <= limit:
        return
    size = f"N = {N} trajectories x K + 1 = {K + 1} nodes x nx = {nx} states"
    if (N, nx) == (1, 1):  # the check before the problem is posed: K alone
        size = f"K = {K} intervals, even for one trajectory of one state"
    raise ConfigError(
        f"'K': the NLP would need at least {need / 2**30:.3g} GiB ({size}, at {BYTES_PER_STATE_ENTRY} bytes "
        f"each), more than this machine's {limit / 2**30:.3g} GiB of memory; lower K or the number of data points"
    )


def build_within_memory(ptype: registry.ProblemType, settings, run: RunSettings) -> registry.Setup:
    """``ptype.build``, refused before it runs when K alone could not fit (one member with one state), and
    after it, before any NLP is built, when the posed problem could not."""
    check_fits(1, run.K, 1)
    setup = ptype.build(settings, run)
    check_fits(setup.problem.N, (setup.run or run).K, setup.problem.nx)
    return setup
