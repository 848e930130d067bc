"""`KeyedLocks`: one holder at a time per key (one create per identical request, one save per
generation), with no lock kept once nobody holds or awaits it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import anyio


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: dict[str, anyio.Lock] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncGenerator[None]:
        """Hold `key`'s lock; it is dropped when nobody holds or awaits it (no unbounded growth)."""
        lock = self._locks.setdefault(key, anyio.Lock())
        try:
            async with lock:
                yield
        finally:
            if self._locks.get(key) is lock and not lock.locked() and not lock.statistics().tasks_waiting:
                del self._locks[key]
