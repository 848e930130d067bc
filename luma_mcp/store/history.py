"""`History`: what this server has made, kept in the output folder so it survives restarts.

Each generation's metadata (prompt, model, ratio, id, created_at, the inputs, the saved files) is one
JSON object per line in `<output dir>/.luma-agents/history.jsonl`; a later line for the same id
replaces an earlier one. Why a log beside the images rather than PNG text chunks or sidecar files:
it works the same for PNG and JPEG, leaves the saved bytes exactly as the API served them, keeps the
pictures folder free of clutter, and gives `list_generations` one file to search.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import anyio.to_thread
from pydantic import ValidationError

from .records import HistoryEntry

logger = logging.getLogger(__name__)

HISTORY_FILE = Path(".luma-agents") / "history.jsonl"
REFRESH_SECONDS = 1.0
REMEMBERED = 1000
"""Generations kept in memory where no files are kept (HTTP by default)."""


class _Log:
    """One `history.jsonl`, read incrementally: lines another process appended are picked up."""

    def __init__(self, folder: Path, trusted: Callable[[], bool] | None = None) -> None:
        self.folder = folder
        self.path = folder / HISTORY_FILE
        self.entries: dict[str, HistoryEntry] = {}
        self._offset = 0
        self._trusted = trusted

    def refresh(self) -> None:
        if self._trusted is not None and not self._trusted():
            self.entries, self._offset = {}, 0  # someone else could have written it: read nothing
            return
        try:
            size = self.path.stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            self.entries, self._offset = {}, 0
            return
        except OSError as exc:
            logger.warning("cannot read the history %s: %s", self.path, exc)
            return
        if size < self._offset:  # rewritten: read it all again
            self.entries, self._offset = {}, 0
        if size == self._offset:
            return
        try:
            with self.path.open("rb") as file:
                file.seek(self._offset)
                chunk = file.read(size - self._offset)
        except OSError as exc:
            logger.warning("cannot read the history %s: %s", self.path, exc)
            return
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line being written stays for next time
        self._offset += len(complete)
        for line in complete.splitlines():
            try:
                entry = HistoryEntry.model_validate_json(line)
            except ValidationError:
                continue  # a damaged line (a crash mid-write): skip it, keep the rest
            self.entries.pop(entry.generation_id, None)  # re-inserted: the most recent last
            self.entries[entry.generation_id] = entry

    def append(self, entry: HistoryEntry) -> None:
        line = json.dumps(entry.model_dump(mode="json", exclude_defaults=True), ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as file:
            file.write(line)


class History:
    """The logs of the output folder and of its temporary fallback, read as one. Reads come from
    memory; the files are looked at again at most once a second (for other servers' writes)."""

    def __init__(self, folders: list[Path], *, trusted: dict[Path, Callable[[], bool]] | None = None) -> None:
        """`trusted` gives, for a folder others could write (a temporary one), the check that it
        is still this user's alone; its log is read only while it is."""
        checks = trusted or {}
        self._logs = {folder: _Log(folder, checks.get(folder)) for folder in folders}
        self._refresh_lock = anyio.Lock()
        self._merged: dict[str, HistoryEntry] = {}
        self._written: dict[str, HistoryEntry] = {}
        """Entries written since the current refresh began (it may not see them)."""
        self._remembered: OrderedDict[str, HistoryEntry] = OrderedDict()
        """Entries kept in memory only (where no files are kept), the most recent last."""
        self._refreshed_at: float | None = None

    def _read(self) -> dict[str, HistoryEntry]:
        merged: dict[str, HistoryEntry] = dict(self._remembered)
        for log in self._logs.values():
            log.refresh()
            for entry in log.entries.values():
                known = merged.get(entry.generation_id)
                if known is None or entry.recorded_at >= known.recorded_at:
                    merged[entry.generation_id] = entry
        return merged

    async def _entries(self) -> dict[str, HistoryEntry]:
        # One refresh at a time, in a worker thread; the event loop never waits on a thread's lock.
        async with self._refresh_lock:
            now = time.monotonic()
            if self._refreshed_at is None or now - self._refreshed_at > REFRESH_SECONDS:
                self._written = {}
                merged = await anyio.to_thread.run_sync(self._read)
                merged.update(self._written)  # what was recorded while the files were read
                self._merged, self._written = merged, {}
                self._refreshed_at = now
        return self._merged

    async def get(self, generation_id: str) -> HistoryEntry | None:
        return (await self._entries()).get(generation_id)

    async def recent(self, *, query: str | None = None, limit: int = 20) -> list[HistoryEntry]:
        """Most recent first; `query` keeps entries whose prompt (or id) holds all its words."""
        words = (query or "").lower().split()
        entries = sorted((await self._entries()).values(), key=lambda entry: entry.recorded_at, reverse=True)
        return [entry for entry in entries if entry.matches(words)][:limit]

    async def remember(self, entry: HistoryEntry) -> None:
        """Keep `entry` in memory only (where no files, hence no log, are kept): the most recent
        `REMEMBERED` of them, so a long-running server does not grow without end."""
        stamped = self._keep(entry)
        self._remembered.pop(entry.generation_id, None)
        self._remembered[entry.generation_id] = stamped
        while len(self._remembered) > REMEMBERED:
            forgotten, _ = self._remembered.popitem(last=False)
            self._merged.pop(forgotten, None)

    async def record(self, entry: HistoryEntry, folder: Path) -> None:
        """Remember `entry` in `folder`'s log. Never raises: the history is a convenience, and a
        full disk must not fail a call whose image is safe."""
        stamped = self._keep(entry)
        log = self._logs.setdefault(folder, _Log(folder))
        # One line appended to a local file takes microseconds, as a log line does: done in place,
        # since a trip to a worker thread would cost more than the write. A refresh reading the
        # file meanwhile leaves a half-written line for next time.
        try:
            log.append(stamped)
        except OSError as exc:
            logger.warning("cannot write the history %s: %s", log.path, exc)

    def _keep(self, entry: HistoryEntry) -> HistoryEntry:
        stamped = _stamped(entry)
        self._merged[entry.generation_id] = self._written[entry.generation_id] = stamped
        return stamped


def _stamped(entry: HistoryEntry) -> HistoryEntry:
    return entry.model_copy(update={"recorded_at": datetime.now(UTC).isoformat().replace("+00:00", "Z")})
