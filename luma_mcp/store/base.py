"""The store's interface: what this server keeps beyond one call, shared by every process that
uses the same store (stdio servers on one output folder, HTTP replicas on one Redis).

`Store` is the whole store; `Account` is one account's part of it, and every method works inside
that account only: the server's own key has one, and each bring-your-own-key user has one named by
the key's hash, so no user can list, read or reuse another's jobs or uploads. Two backends:
`sqlite.SqliteStore` (the embedded default) and `redis.RedisStore` (for replicas).

What an account holds, each part behind its own group of methods:
- the history: one `HistoryEntry` per generation, searchable, most recent first by creation time;
- the ledger's state (`Claim`s by request key): which job an identical request gets back, which
  requests lost their answer, and creates in flight; the ledger's rules live in `jobs/ledger.py`;
- short locks (`Claim`s in state "saving"), so that a finished job is saved by one process at once;
- the upload cache: content hash → Files API `file_id`, while that file lives;
- the offsets of the `history.jsonl` files of earlier versions, imported line by line.

Spending (a later issue) extends it the same way: a group of methods here (add a charge, sum a
day's or a month's), a table in `sqlite.py`'s next migration, and keys in `redis.py`.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import socket
import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .records import HistoryEntry

ClaimState = Literal["creating", "created", "lost", "saving"]


@dataclass(frozen=True)
class Claim:
    """What is kept under one key of an account's ledger (a request key, or `saving:<id>`)."""

    state: ClaimState
    """creating: a create is being sent; created: its job is `generation_id`; lost: a create was
    sent and its answer lost; saving: `owner` is saving generation `generation_id`."""
    owner: str
    """The process that wrote it (`this_process()`), to tell a live one from one that died."""
    at: float
    """When it was written (wall-clock seconds since the epoch: shared between processes)."""
    expires: float
    """When the store may forget it (wall clock)."""
    generation_id: str | None = None
    finished_at: float | None = None
    """When a look first saw the job completed."""
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    """Unique to this write: `swap` replaces a claim only if it is still this one."""

    def dumps(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def loads(cls, text: str | bytes) -> Claim:
        values: dict[str, Any] = json.loads(text)
        return cls(**values)


class Account(ABC):
    """One account's part of the store. Every method raises `StoreError` when the store is locked
    or unreachable."""

    # ------------------------------------------------------------------ history

    @abstractmethod
    async def put_entries(self, entries: Sequence[HistoryEntry], *, legacy: tuple[str, int] | None = None) -> None:
        """Keep each entry, unless the store holds one of the same id recorded later. `legacy`
        (a `history.jsonl` path and the offset read up to) is noted in the same write."""

    @abstractmethod
    async def entry(self, generation_id: str) -> HistoryEntry | None: ...

    @abstractmethod
    async def recent(self, words: Sequence[str], limit: int, offset: int) -> list[HistoryEntry]:
        """Most recent first by creation time; `words` (from `words.search_words`) keeps the
        entries that have, for each, a word starting with it."""

    @abstractmethod
    async def legacy_offset(self, path: str) -> int:
        """How far the `history.jsonl` at `path` was imported (0 if never)."""

    # ------------------------------------------------------------------ ledger and locks

    @abstractmethod
    async def claim(self, key: str, claim: Claim) -> Claim | None:
        """Atomically across processes: keep `claim` under `key` and return None if nothing (or
        only an expired claim) is there; otherwise return what is there and change nothing."""

    @abstractmethod
    async def swap(self, key: str, expected: Claim, new: Claim | None) -> bool:
        """Atomically: replace the claim under `key` by `new` (or remove it) if it is still
        `expected` (same token). Whether it was."""

    @abstractmethod
    async def job_finished(self, generation_id: str, at: float, expires: float) -> None:
        """The created claim of job `generation_id`, if any, was first seen completed at `at`."""

    @abstractmethod
    async def forget_job(self, generation_id: str) -> None:
        """Remove the created claim of job `generation_id`, if any."""

    # ------------------------------------------------------------------ uploads

    @abstractmethod
    async def upload(self, digest: str, now: float) -> str | None:
        """The `file_id` of content `digest`, while it may still be handed out."""

    @abstractmethod
    async def remember_upload(self, digest: str, file_id: str, until: float, now: float) -> None:
        """Hand `file_id` out for content `digest` until `until`; forget uploads past their time."""


class Store(ABC):
    """The whole store: accounts, and the connection they share."""

    shown: str
    """Where it is, fit for logs and errors (any password hidden)."""

    @abstractmethod
    def account(self, name: str) -> Account: ...

    @abstractmethod
    async def aclose(self) -> None: ...


SERVER_ACCOUNT = "server"
"""The account of the server's own key (users' accounts are 16 hex digits)."""


@functools.cache
def this_process() -> str:
    """Who writes a claim: host, process id, and a token of this run."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def is_alive(owner: str) -> bool:
    """Whether the process that wrote a claim may still be running. Known dead only on this host
    (its process id is gone); elsewhere, or on Windows, it is presumed alive, and its claim lasts
    until it expires."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or sys.platform == "win32":
        return True
    if owner == this_process():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True
