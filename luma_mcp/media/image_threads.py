"""Image work (decoding, verifying, resizing, hashing large buffers) runs in worker threads, a few
at a time: one decode of a 2K image holds tens of MB, and 64 calls decoding at once would hold
gigabytes. Slots match the CPUs (at least two): more would only queue for the same cores."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

import anyio
import anyio.to_thread

T = TypeVar("T")
Args = TypeVarTuple("Args")

_limiter: anyio.CapacityLimiter | None = None


def _image_limiter() -> anyio.CapacityLimiter:
    global _limiter  # noqa: PLW0603 - one limiter per process, made inside the event loop
    if _limiter is None:
        _limiter = anyio.CapacityLimiter(max(2, os.cpu_count() or 2))
    return _limiter


async def in_image_thread(function: Callable[[*Args], T], *args: *Args) -> T:
    """`function(*args)` in a worker thread, among at most one per CPU doing image work."""
    return await anyio.to_thread.run_sync(function, *args, limiter=_image_limiter())
