"""Bounds on what this process holds under load, set once its event loop runs: how many worker
threads it keeps, and (on glibc) how many malloc arenas those threads spread their memory over.

Without them, 64 calls at once start up to anyio's 40 default worker threads (disk writes, file
checks), and glibc gives each thread that allocates under contention an arena of its own, which
keeps what it once held: about half of the peak memory under load went there. Image work has its
own, narrower bound (`media/image_threads.py`).
"""

from __future__ import annotations

import logging
import os
import sys

import anyio.to_thread

logger = logging.getLogger(__name__)

WORKER_THREADS = 8
"""Worker threads for blocking calls (anyio's default limiter: 40). Two may wait on stdin and
stdout at any time; the rest write downloads and read files, work that queues well."""
MALLOC_ARENAS = 2
"""glibc malloc arenas (its default: 8 per core)."""
MMAP_THRESHOLD = 96 * 1024
"""Allocations from this size up (a decoded image, a write's blocks) get pages of their own, given
back to the system when freed. Fixing it turns off glibc's sliding threshold, which after the first
large free would keep every block under 32 MB in arenas that never shrink. It sits just above a
socket read (64 KB and a header): those come and go ~100 times per 6 MB download, and mapped on
their own each cost a map, its page faults and an unmap (at 64 KB: ~25 ms of CPU per 2048-px PNG
call, 15% of it). Under 64 calls at once: peak RSS 234 MB without these bounds, 155 MB at 256 KB,
147 MB at 64 KB, 142–146 MB at 96 KB with 128 KB write blocks (`benchmarks/calls.py`)."""

_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_bounded_allocator = False


def bound_worker_threads(limit: int = WORKER_THREADS) -> None:
    """At most `limit` worker threads for blocking calls in the running event loop."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = limit


def bound_allocator() -> bool:
    """On glibc, at most `MALLOC_ARENAS` arenas, and blocks of `MMAP_THRESHOLD` and up mapped on
    their own; elsewhere nothing (other allocators do not keep an arena per thread). Once per
    process; returns whether the bounds are in place."""
    global _bounded_allocator  # noqa: PLW0603 - the process's allocator is one, like this flag
    if _bounded_allocator:
        return True
    if not sys.platform.startswith("linux") or not _glibc():
        return False
    import ctypes  # here, not at import: start-up time

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt answers 1 when it took the value.
    _bounded_allocator = bool(mallopt(_M_ARENA_MAX, MALLOC_ARENAS)) and bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    if not _bounded_allocator:
        logger.debug("glibc refused the malloc bounds; memory under load may grow")
    return _bounded_allocator


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (ValueError, OSError):  # the name is unknown to this C library
        return False
