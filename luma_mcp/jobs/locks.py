"""`KeyedLocks`: one holder at a time per key within this process (one create per identical request),
with no lock kept once nobody holds or awaits it; `SharedLocks`: the same across every process on
one store (one save per generation)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal, NamedTuple

import anyio

from ..api import Timekeeper
from ..errors import StoreError
from ..store.base import Account, Claim, Pending, is_alive, this_process
from ..store.records import HistoryEntry

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


@dataclass(frozen=True)
class Hold:
    """What `SharedLocks.hold` got, and the history entry read with it."""

    state: Held
    read: bool = False
    """Whether `entry` was read in the trip that took the lock (False: read it under the lock yourself)."""
    entry: HistoryEntry | None = None
    """The history entry of the job named by the lock, as its holder sees it."""


MARGIN_SECONDS = 10.0
"""A shared lock outlives its holder's deadline by this much, then anyone may take it."""
CLOCK_SLACK_SECONDS = 1.0
"""How much of `MARGIN_SECONDS` a lock taken with a create may lose, for its save: the wall and the
monotonic clock, read one after the other, differ by microseconds from one reading to the next
(without it, half the creating calls took their lock anew). A larger move of the wall clock (a
machine that slept, a clock set) means the lock may end in the store first: it is taken anew."""


class Taken(NamedTuple):
    """A job's save lock queued with its create's record (`SharedLocks.take_new`), not used yet."""

    claim: Claim
    answer: Pending[Claim | None]
    """The store's answer to the claim: None once kept."""
    entry: HistoryEntry
    """The job's entry, recorded in the same trip."""


class SharedLocks:
    """Locks that hold across every process on one store (a `saving` claim under `saving:<name>`),
    and within this process. A holder that died (its process is gone, or its time ran out) loses
    its lock to the next caller.

    A lock on a job just created is taken with the create's record (`take_new`, no trip of its
    own): nobody else can know the job yet. The call that waits for it then saves without asking
    the store (`hold`), or lets it go (`let_go`) if it does not."""

    def __init__(self, account: Account, *, wall: Callable[[], float], time: Timekeeper) -> None:
        self._account = account
        self._wall = wall
        self._time = time
        self._local = KeyedLocks()
        self._taken: dict[str, Taken] = {}
        """Locks queued with a create's record, not used yet."""

    def take_new(self, name: str, entry: HistoryEntry, *, until: float) -> None:
        """Queue the lock on job `name`, just created (recorded as `entry`), held until `until` (on
        `time`) and `MARGIN_SECONDS` more: sent with the create's record."""
        mine = self._claim(until)
        self._taken[name] = Taken(mine, self._account.queue_claim(f"saving:{name}", mine), entry)

    async def let_go(self, name: str) -> None:
        """Queue the release of the lock `take_new` took on `name`, if no `hold` used it."""
        taken = self._taken.pop(name, None)
        if taken is not None:
            await self._account.swap(f"saving:{name}", taken.claim, None, later=True)  # a no-op if never kept

    def _lasts(self, taken: Taken, until: float) -> bool:
        """Whether a lock queued with a create was kept (its trip went through, nobody held it) and
        lasts, in the store, for a save that must end by `until` (on `time`)."""
        answer = taken.answer
        if not answer.sent or answer.failed_with is not None or answer.answer() is not None:
            return False
        remaining = max(until - self._time.monotonic(), 0)
        return taken.claim.expires - MARGIN_SECONDS + CLOCK_SLACK_SECONDS >= self._wall() + remaining

    def _claim(self, until: float) -> Claim:
        now = self._wall()
        return Claim("saving", this_process(), now, now + max(until - self._time.monotonic(), 0) + MARGIN_SECONDS)

    @asynccontextmanager
    async def hold(self, name: str, *, until: float, poll: float) -> AsyncGenerator[Hold]:
        """Hold `name` (a job's id) until the block ends; waits for it until `until` (on `time`),
        looking every `poll` seconds. The job's history entry is read in the same trip as the
        claim that takes the lock, where it can be. A block that ends normally leaves the release
        queued (with what the block queued) for the account's next trip, which the caller makes at
        once; one that raises sends them before it goes on."""
        async with self._local.hold(name):
            key = f"saving:{name}"
            taken = self._taken.pop(name, None)
            try:
                if taken is not None and self._lasts(taken, until):  # kept with the create, for long enough
                    claim, hold = taken.claim, Hold("held", read=True, entry=taken.entry)
                else:
                    if taken is not None:  # too short, or not kept: let go (with the trip that takes it anew)
                        await self._account.swap(key, taken.claim, None, later=True)
                    claim, hold = await self._take(key, name, until, poll)
            except StoreError as exc:
                logger.warning("no shared lock on %s (%s): going on under this process's alone", name, exc)
                claim, hold = None, Hold("unknown")
            try:
                yield hold
            except BaseException:  # the release, and the writes queued under the lock, sent now
                with anyio.CancelScope(shield=True), contextlib.suppress(StoreError):
                    if claim is not None:
                        await self._account.swap(key, claim, None, later=True)
                    await self._account.flush()
                raise
            if claim is not None:  # queued: the caller's next trip to the store sends it
                await self._account.swap(key, claim, None, later=True)

    async def send_release(self) -> None:
        """Send a release `hold` left queued (and what was queued with it) now, before other I/O."""
        with anyio.CancelScope(shield=True), contextlib.suppress(StoreError):
            await self._account.flush()

    async def _take(self, key: str, name: str, until: float, poll: float) -> tuple[Claim | None, Hold]:
        while True:
            mine = self._claim(until)
            held, entry = await self._account.claim_and_read(key, mine, name)
            if held is None:
                return mine, Hold("held", read=True, entry=entry)
            if not is_alive(held.owner) and await self._account.swap(key, held, mine):
                return mine, Hold("held")
            if self._time.monotonic() + poll > until:
                return None, Hold("busy")
            await self._time.sleep(poll)
