"""`History`: what one account has made, kept in the store so that it survives restarts and is
shared by every process on that store. Each generation's metadata (prompt, model, ratio, id,
created_at, the inputs, the saved files) is one entry, replaced as the job moves on; lists come
most recent first by creation time, searched by words of the prompt, a page at a time.

The logs of earlier versions (`legacy.LegacyLog`) are imported on first use: in the background
once the host has listed the tools (100,000 generations take seconds; see `server.py`), a read
waiting for that import at most
`IMPORT_WAIT_SECONDS` before it answers with what is there and says so (`behind`). After that,
each read looks at the logs' sizes (at most once a second) for lines an older server running
beside this one appended.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import anyio
import anyio.to_thread

from ..errors import StoreError
from .base import Account
from .legacy import LegacyLog
from .records import HistoryEntry
from .words import search_words

logger = logging.getLogger(__name__)

LOOK_AGAIN_SECONDS = 1.0
"""How often the old logs' sizes are looked at."""
IMPORT_WAIT_SECONDS = 5.0
"""How long a read waits for an import under way before it answers with what is there."""


class History:
    def __init__(self, account: Account, logs: list[LegacyLog] | None = None) -> None:
        self._account = account
        self._logs = logs or []
        self._read_to: dict[str, int] = {}
        """How far each log was imported, once known."""
        self._importing = anyio.Lock()
        self._looked_at: float | None = None
        self.behind: str | None = (
            "The history of an earlier version is still being imported: older generations may be missing from "
            "this answer; call again in a moment."
            if self._logs
            else None
        )
        """While an import is unfinished (or not looked at yet): what to tell the reader."""

    async def catch_up(self) -> None:
        """Import what the old logs hold beyond what was imported already, a chunk at a time (a
        cancelled import goes on from there at the next call). A store that fails is said in the
        log, and tried again at the next read."""
        async with self._importing:
            now = time.monotonic()
            if self.behind is None and self._looked_at is not None and now - self._looked_at < LOOK_AGAIN_SECONDS:
                return
            self._looked_at = now
            try:
                for log in self._logs:
                    await self._import(log)
            except StoreError as exc:
                self._looked_at = None
                logger.warning("the history of an earlier version was not imported: %s", exc)
            self.behind = None

    async def caught_up(self) -> None:
        """Before a read: an import under way is waited for, up to `IMPORT_WAIT_SECONDS`."""
        with anyio.move_on_after(IMPORT_WAIT_SECONDS):
            await self.catch_up()

    async def _import(self, log: LegacyLog) -> None:
        key = str(log.path)
        size = log.size()
        if key not in self._read_to:
            if size == 0:
                return
            self._read_to[key] = await self._account.legacy_offset(key)
        start = 0 if size < self._read_to[key] else self._read_to[key]  # rewritten: read it all again
        while start < size:
            self.behind = (
                f"The history of an earlier version ({log.path}) is still being imported ({100 * start // size}% "
                "so far): older generations may be missing from this answer; call again in a moment."
            )
            # A read that waited its time answers without it; the chunk is read again by the next.
            entries, end = await anyio.to_thread.run_sync(log.read, start, abandon_on_cancel=True)
            if end == start:
                break  # only a line being written: next time
            await self._account.put_entries(entries, legacy=(key, end))
            self._read_to[key] = start = end

    async def get(self, generation_id: str) -> HistoryEntry | None:
        """Raises `StoreError` if the store cannot be read."""
        await self.caught_up()
        return await self._account.entry(generation_id)

    async def recent(self, *, query: str | None = None, limit: int = 20, offset: int = 0) -> list[HistoryEntry]:
        """Most recent first by creation time; `query` keeps the entries that have, for each of its
        words, a word starting with it (in the prompt, the id, the model or the kind). Raises
        `StoreError` if the store cannot be read."""
        await self.caught_up()
        return await self._account.recent(search_words(query or ""), limit, offset)

    async def record(self, entry: HistoryEntry, *, later: bool = False) -> None:
        """Keep `entry`, stamped with the time (`later`: queued for the account's next trip to the
        store). Never raises: the history is a convenience, and a store that fails must not fail a
        call whose image is safe (it is said in the log)."""
        stamped = entry.model_copy(update={"recorded_at": _stamp()})
        try:
            await self._account.put_entries([stamped], later=later)
        except StoreError as exc:
            logger.warning("generation %s was not recorded in the history: %s", entry.generation_id, exc)


def _stamp() -> str:
    """Now, as ISO 8601 in UTC with microseconds always written (so stamps compare as strings)."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
