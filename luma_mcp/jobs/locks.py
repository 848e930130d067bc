"""`KeyedLocks`: one holder at a time per key within this process (one create per identical request),
with no lock kept once nobody holds or awaits it; `SharedLocks`: the same across every process on
one store (one save per generation)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import Literal

import anyio

from ..api import Timekeeper
from ..errors import StoreError
from ..store.base import Account, Claim, is_alive, this_process

logger = logging.getLogger(__name__)


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


Held = Literal["held", "busy", "unknown"]
"""What `SharedLocks.hold` got: the lock; nothing (another live process held it until the deadline);
or no answer from the store (the caller goes on under this process's lock alone)."""

MARGIN_SECONDS = 10.0
"""A shared lock outlives its holder's deadline by this much, then anyone may take it."""


class SharedLocks:
    """Locks that hold across every process on one store (a `saving` claim under `saving:<name>`),
    and within this process. A holder that died (its process is gone, or its time ran out) loses
    its lock to the next caller."""

    def __init__(self, account: Account, *, wall: Callable[[], float], time: Timekeeper) -> None:
        self._account = account
        self._wall = wall
        self._time = time
        self._local = KeyedLocks()

    @asynccontextmanager
    async def hold(self, name: str, *, until: float, poll: float) -> AsyncGenerator[Held]:
        """Hold `name` until the block ends; waits for it until `until` (on `time`), looking every
        `poll` seconds."""
        async with self._local.hold(name):
            key = f"saving:{name}"
            try:
                claim = await self._take(key, until, poll)
            except StoreError as exc:
                logger.warning("no shared lock on %s (%s): going on under this process's alone", name, exc)
                claim = None
                held: Held = "unknown"
            else:
                held = "busy" if claim is None else "held"
            try:
                yield held
            finally:  # the release, and the writes queued under the lock ahead of it, in one trip
                with anyio.CancelScope(shield=True), contextlib.suppress(StoreError):
                    if claim is not None:
                        await self._account.swap(key, claim, None, later=True)
                    await self._account.flush()

    async def _take(self, key: str, until: float, poll: float) -> Claim | None:
        while True:
            now = self._wall()
            mine = Claim("saving", this_process(), now, now + max(until - self._time.monotonic(), 0) + MARGIN_SECONDS)
            held = await self._account.claim(key, mine)
            if held is None:
                return mine
            if not is_alive(held.owner) and await self._account.swap(key, held, mine):
                return mine
            if self._time.monotonic() + poll > until:
                return None
            await self._time.sleep(poll)
