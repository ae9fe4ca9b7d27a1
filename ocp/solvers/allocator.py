"""Keep freed memory in the process while IPOPT runs (glibc only).

MUMPS allocates its factorisation workspace afresh at every IPOPT iteration.
glibc serves allocations that large with mmap and returns them to the kernel
on free, so every factorisation pays page faults on fresh pages: a third of
the KKT time on the reference problem at N = 400 was system time
(`benchmarks/README.md`). Inside `retained_heap` large blocks come from the
heap and stay there between iterations; on exit the previous behaviour is
restored and the heap is trimmed, so the memory goes back to the system
after the solve. Elsewhere than glibc this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Iterator
from contextlib import contextmanager

# mallopt parameters of glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_GLIBC_MMAP_MAX = 65536  # glibc's default M_MMAP_MAX
_GLIBC_TRIM_THRESHOLD = 128 * 1024  # glibc's default M_TRIM_THRESHOLD
_NEVER_TRIM = 2**31 - 1  # mallopt takes an int


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


_LIBC = _glibc()


@contextmanager
def retained_heap() -> Iterator[None]:
    if _LIBC is None:
        yield
        return
    _LIBC.mallopt(_M_MMAP_MAX, 0)
    _LIBC.mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM)
    try:
        yield
    finally:
        _LIBC.mallopt(_M_MMAP_MAX, _GLIBC_MMAP_MAX)
        _LIBC.mallopt(_M_TRIM_THRESHOLD, _GLIBC_TRIM_THRESHOLD)
        _LIBC.malloc_trim(0)
