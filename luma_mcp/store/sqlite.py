"""`SqliteStore`: the embedded store, one SQLite file (stdlib `sqlite3`, WAL) per output folder, in
the user's state folder, never beside the pictures (which users often sync, where WAL is unsafe).
Several processes share it safely: writes that must be atomic across them (a claim, a swap) run
in `BEGIN IMMEDIATE` transactions, which take the write lock before they read.

A short call (a claim, a swap, one entry) runs in place, on a connection that never waits: taking
the lock or reading a few rows costs about 0.03 ms, less than the trip to a worker thread (0.1 ms
more; `benchmarks/store.py`). If the lock is taken (another process writes), or the call is long
(a list, an import), it runs in the store's worker thread instead, one at a time, where a write
may wait up to `BUSY_SECONDS` for the lock: the event loop never waits on another process. The
connection in place never checkpoints the WAL (that syncs the disk); every `CHECKPOINT_EVERY`
calls, one goes to the worker thread, which does.

The schema, its version and its migrations are in `sqlite_schema`.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import anyio
import anyio.to_thread

from ..errors import StoreError
from .base import Account, Claim, Pending, Store, shielded
from .records import HistoryEntry
from .sqlite_schema import migrate
from .sqlite_spending import SqliteSpending
from .sqlite_transactions import is_busy, joined, write
from .words import entry_words

T = TypeVar("T")

logger = logging.getLogger(__name__)

BUSY_SECONDS = 5.0
"""How long a write waits for another process's lock before the store counts as locked."""
PURGE_EVERY = 500
"""Claims written between two sweeps of the expired ones (a scan: claims last an hour at most)."""
RETRY_SECONDS = 0.01
"""Between two tries of a call SQLite answered "busy" without waiting."""
CHECKPOINT_EVERY = 200
"""Calls run in place between two that run in the worker thread, checkpointing the WAL first."""


class SqliteStore(Store):
    def __init__(self, path: Path) -> None:
        """Nothing is opened until the first call (start-up stays fast)."""
        self.path = path
        self.shown = f"sqlite:///{path}"
        self._connection: sqlite3.Connection | None = None
        """For the worker thread: waits for locks, checkpoints the WAL."""
        self._in_place: sqlite3.Connection | None = None
        """For calls on the event loop: never waits, never checkpoints."""
        self._limiter = anyio.CapacityLimiter(1)
        self._claims_written = 0
        self._calls_in_place = 0

    def account(self, name: str) -> SqliteAccount:
        return SqliteAccount(self, name)

    async def aclose(self) -> None:
        connections = [c for c in (self._connection, self._in_place) if c is not None]
        self._connection = self._in_place = None
        for connection in connections:
            await anyio.to_thread.run_sync(connection.close, limiter=self._limiter)

    async def run(self, work: Callable[[sqlite3.Connection], T], *, short: bool = True) -> T:
        """`work` with a connection: in place if it is `short` and needs no lock another process
        holds, otherwise in the store's worker thread."""
        if short and self._in_place is not None and not self._limiter.borrowed_tokens:
            self._calls_in_place += 1
            if self._calls_in_place % CHECKPOINT_EVERY:
                try:
                    return work(self._in_place)
                except sqlite3.OperationalError as exc:
                    if not is_busy(exc):
                        raise StoreError(self.shown, str(exc)) from None
                except sqlite3.Error as exc:
                    raise StoreError(self.shown, str(exc)) from None
        return await anyio.to_thread.run_sync(self._run, work, limiter=self._limiter)

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        # SQLite answers "busy" at once, without waiting, in a few cases (a file being set up by
        # two processes, a snapshot gone stale): those are tried again until `BUSY_SECONDS` pass.
        deadline = time.monotonic() + BUSY_SECONDS
        while True:
            try:
                if self._connection is None:
                    self._open()
                assert self._connection is not None
                if self._calls_in_place >= CHECKPOINT_EVERY:
                    self._calls_in_place = 0
                    self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                return work(self._connection)
            except sqlite3.Error as exc:
                busy = isinstance(exc, sqlite3.OperationalError) and is_busy(exc)
                if busy and time.monotonic() < deadline:
                    time.sleep(RETRY_SECONDS)  # in the worker thread: the event loop goes on
                    continue
                problem = f"another process has held it locked for over {BUSY_SECONDS:g} s" if busy else str(exc)
                raise StoreError(self.shown, problem) from None

    def _open(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        opened: list[sqlite3.Connection] = []
        try:
            for timeout in (BUSY_SECONDS, 0.0):
                opened.append(
                    sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
                )
                opened[-1].execute("PRAGMA synchronous = NORMAL")  # with WAL: durable across a crash of the process
            if opened[0].execute("PRAGMA journal_mode").fetchone()[0] != "wal":  # it stays so, once set
                opened[0].execute("PRAGMA journal_mode = WAL")
            migrate(opened[0])
            opened[1].execute("PRAGMA wal_autocheckpoint = 0")
        except BaseException as exc:
            for connection in opened:
                connection.close()
            if isinstance(exc, StoreError):
                raise StoreError(self.shown, exc.problem) from None
            raise
        self._connection, self._in_place = opened

    def note_claim_written(self) -> bool:
        """Whether it is time to sweep the expired claims (every `PURGE_EVERY` writes)."""
        self._claims_written += 1
        return self._claims_written % PURGE_EVERY == 1


def _update_entry(connection: sqlite3.Connection, found: Any, row: tuple[str, float, str, str, str]) -> None:
    """A later record (`row`, as `put_entries` makes it) of the entry `found` (seq, recorded_at,
    words, created): only what changed is written, so the indexes of what did not (when it was
    made, its words) are left alone."""
    seq, _, old_words, old_created = cast("tuple[int, str, str, float]", found)
    _, created, recorded_at, words, text = row
    changes: dict[str, object] = {"recorded_at": recorded_at, "entry": text}
    if created != old_created:
        changes["created"] = created
    if words != old_words:  # the prompt, hence the index, rarely changes
        changes["words"] = words
        connection.execute("UPDATE generation_words SET words = ? WHERE rowid = ?", (words, seq))
    columns = ", ".join(f"{column} = ?" for column in changes)
    connection.execute(f"UPDATE generations SET {columns} WHERE seq = ?", (*changes.values(), seq))  # noqa: S608


def _claim(row: Any) -> Claim:
    state, owner, at, expires, generation_id, finished_at, token = cast("tuple[Any, ...]", row)
    return Claim(state, owner, at, expires, generation_id, finished_at, token)


class SqliteAccount(SqliteSpending, Account):
    def __init__(self, store: SqliteStore, name: str) -> None:
        self._store = store
        self._name = name
        self._queued: list[Callable[[sqlite3.Connection], object]] = []
        """Writes queued with `later=True`, run ahead of the next call in one transaction."""
        self._pending: list[Pending[Any]] = []
        """The answers some of them give (a queued reservation's or claim's), failed if their trip fails."""
        self._sending = anyio.Lock(fast_acquire=True)
        """Held while queued writes are on their way: a call waits for them (a write another call
        took is sent before anything the caller does next)."""

    async def _run(self, work: Callable[[sqlite3.Connection], T], *, short: bool = True) -> T:
        """`work` on the store's connection, the queued writes first, in one transaction: sent even
        by a call cancelled meanwhile (one may be a lock's release), after any another call took."""
        if not self._queued and not self._sending.locked():
            return await self._store.run(work, short=short)
        return await shielded(lambda: self._sent_with(work, short))

    async def _sent_with(self, work: Callable[[sqlite3.Connection], T], short: bool) -> T:
        async with self._sending:
            (queued, self._queued), (pending, self._pending) = (self._queued, []), (self._pending, [])
            sent = False

            def first_the_queued(connection: sqlite3.Connection) -> T:
                nonlocal sent

                def both() -> T:
                    with joined():
                        for queued_write in queued:
                            queued_write(connection)
                        return work(connection)  # its own transaction, if it takes one, is this one

                result = write(connection, both)  # rolled back whole if it fails: tried again whole
                sent = True
                return result

            try:
                return await self._store.run(first_the_queued, short=short)
            except StoreError as exc:
                if queued and not sent:
                    logger.warning("the store did not keep %d queued writes: %s", len(queued), exc.problem)
                    for answer in pending:
                        answer.failed(exc)
                raise

    async def _now_or_later(
        self, work: Callable[[sqlite3.Connection], T], later: bool, *, short: bool = True
    ) -> T | None:
        """`work` (a write) run now, or, if `later`, queued for the next call (None)."""
        if later:
            self._queued.append(work)
            return None
        return await self._run(work, short=short)

    def _answer_later(self, work: Callable[[sqlite3.Connection], T]) -> Pending[T]:
        pending: Pending[T] = Pending()
        self._queued.append(lambda connection: pending.answered(work(connection)))
        self._pending.append(pending)
        return pending

    async def flush(self) -> None:
        if self._queued or self._sending.locked():
            await self._run(lambda connection: None)

    async def put_entries(
        self, entries: Sequence[HistoryEntry], *, legacy: tuple[str, int] | None = None, later: bool = False
    ) -> None:
        rows = [
            (entry.generation_id, entry.created_seconds(), entry.recorded_at, " ".join(entry_words(entry)),
             entry.model_dump_json(exclude_defaults=True))
            for entry in entries
        ]  # fmt: skip

        def put(connection: sqlite3.Connection) -> None:
            def work() -> None:
                for row in rows:
                    generation_id, created, recorded_at, words, text = row
                    found = connection.execute(
                        "SELECT seq, recorded_at, words, created FROM generations "
                        "WHERE account = ? AND generation_id = ?",
                        (self._name, generation_id),
                    ).fetchone()
                    if found is None:
                        seq = connection.execute(
                            "INSERT INTO generations (account, generation_id, created, recorded_at, words, entry) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (self._name, generation_id, created, recorded_at, words, text),
                        ).lastrowid
                        connection.execute("INSERT INTO generation_words (rowid, words) VALUES (?, ?)", (seq, words))
                    elif recorded_at >= found[1]:  # the later record of the job wins
                        _update_entry(connection, found, row)
                if legacy is not None:
                    connection.execute(
                        "INSERT OR REPLACE INTO legacy_logs (account, path, read_to) VALUES (?, ?, ?)",
                        (self._name, *legacy),
                    )

            write(connection, work)

        await self._now_or_later(put, later, short=len(rows) == 1)

    async def entry(self, generation_id: str) -> HistoryEntry | None:
        text = await self._run(lambda connection: self._entry_text(connection, generation_id))
        return None if text is None else HistoryEntry.model_validate_json(text)

    def _entry_text(self, connection: sqlite3.Connection, generation_id: str) -> str | None:
        row = connection.execute(
            "SELECT entry FROM generations WHERE account = ? AND generation_id = ?", (self._name, generation_id)
        ).fetchone()
        return None if row is None else cast("str", row[0])

    async def recent(self, words: Sequence[str], limit: int, offset: int) -> list[HistoryEntry]:
        if words:
            match = " ".join('"' + word.replace('"', "") + '"*' for word in words)
            sql = (
                "SELECT entry FROM generations WHERE account = ? AND seq IN "
                "(SELECT rowid FROM generation_words WHERE generation_words MATCH ?) "
                "ORDER BY created DESC, seq DESC LIMIT ? OFFSET ?"
            )
            parameters: tuple[Any, ...] = (self._name, match, limit, offset)
        else:
            sql = "SELECT entry FROM generations WHERE account = ? ORDER BY created DESC, seq DESC LIMIT ? OFFSET ?"
            parameters = (self._name, limit, offset)

        def select(connection: sqlite3.Connection) -> list[str]:
            return [cast("str", row[0]) for row in connection.execute(sql, parameters)]

        return [HistoryEntry.model_validate_json(text) for text in await self._run(select, short=False)]

    async def legacy_offset(self, path: str) -> int:
        def get(connection: sqlite3.Connection) -> int:
            row = connection.execute(
                "SELECT read_to FROM legacy_logs WHERE account = ? AND path = ?", (self._name, path)
            ).fetchone()
            return 0 if row is None else int(row[0])

        return await self._run(get)

    async def claim(self, key: str, claim: Claim) -> Claim | None:
        return await self._run(self._taking(key, claim))

    def queue_claim(self, key: str, claim: Claim) -> Pending[Claim | None]:
        return self._answer_later(self._taking(key, claim))

    async def claim_and_read(
        self, key: str, claim: Claim, generation_id: str
    ) -> tuple[Claim | None, HistoryEntry | None]:
        take = self._taking(key, claim)

        def both(connection: sqlite3.Connection) -> tuple[Claim | None, str | None]:
            return take(connection), self._entry_text(connection, generation_id)

        held, text = await self._run(both)
        return held, None if text is None else HistoryEntry.model_validate_json(text)

    def _taking(self, key: str, claim: Claim) -> Callable[[sqlite3.Connection], Claim | None]:
        """The work of `claim`."""
        purge = self._store.note_claim_written()

        def take(connection: sqlite3.Connection) -> Claim | None:
            def work() -> Claim | None:
                if purge:
                    connection.execute("DELETE FROM claims WHERE expires < ?", (claim.at,))
                row = connection.execute(
                    "SELECT state, owner, at, expires, generation_id, finished_at, token FROM claims "
                    "WHERE account = ? AND key = ?",
                    (self._name, key),
                ).fetchone()
                if row is not None and _claim(row).expires >= claim.at:
                    return _claim(row)
                self._insert(connection, key, claim)
                return None

            return write(connection, work)

        return take

    async def swap(self, key: str, expected: Claim, new: Claim | None, *, later: bool = False) -> bool | None:
        where = (self._name, key, expected.token)

        def replace(connection: sqlite3.Connection) -> bool:  # one statement: the claim's row kept in place
            if new is None:
                sql, parameters = "DELETE FROM claims WHERE account = ? AND key = ? AND token = ?", where
            else:
                sql = (
                    "UPDATE claims SET state = ?, owner = ?, at = ?, expires = ?, generation_id = ?, finished_at = ?, "
                    "token = ? WHERE account = ? AND key = ? AND token = ?"
                )
                parameters = (new.state, new.owner, new.at, new.expires, new.generation_id, new.finished_at,
                              new.token, *where)  # fmt: skip
            return write(connection, lambda: bool(connection.execute(sql, parameters).rowcount))

        return await self._now_or_later(replace, later)

    def _insert(self, connection: sqlite3.Connection, key: str, claim: Claim) -> None:
        connection.execute(
            "INSERT OR REPLACE INTO claims (account, key, state, owner, at, expires, generation_id, finished_at, "
            "token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self._name, key, claim.state, claim.owner, claim.at, claim.expires, claim.generation_id,
             claim.finished_at, claim.token),
        )  # fmt: skip

    async def job_finished(self, generation_id: str, at: float, expires: float, *, later: bool = False) -> None:
        await self._now_or_later(
            lambda connection: connection.execute(
                "UPDATE claims SET finished_at = ?, expires = ? WHERE account = ? AND generation_id = ? "
                "AND state = 'created' AND finished_at IS NULL",
                (at, expires, self._name, generation_id),
            ),
            later,
        )

    async def forget_job(self, generation_id: str, *, later: bool = False) -> None:
        await self._now_or_later(
            lambda connection: connection.execute(
                "DELETE FROM claims WHERE account = ? AND generation_id = ? AND state = 'created'",
                (self._name, generation_id),
            ),
            later,
        )

    async def upload(self, digest: str, now: float) -> str | None:
        def get(connection: sqlite3.Connection) -> str | None:
            row = connection.execute(
                "SELECT file_id FROM uploads WHERE account = ? AND digest = ? AND reuse_until > ?",
                (self._name, digest, now),
            ).fetchone()
            return None if row is None else cast("str", row[0])

        return await self._run(get)

    async def remember_upload(self, digest: str, file_id: str, until: float, now: float) -> None:
        def put(connection: sqlite3.Connection) -> None:
            def work() -> None:
                connection.execute("DELETE FROM uploads WHERE account = ? AND reuse_until < ?", (self._name, now))
                connection.execute(
                    "INSERT OR REPLACE INTO uploads (account, digest, file_id, reuse_until) VALUES (?, ?, ?, ?)",
                    (self._name, digest, file_id, until),
                )

            write(connection, work)

        await self._run(put)
