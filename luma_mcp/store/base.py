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
- the offsets of the `history.jsonl` files of earlier versions, imported line by line;
- spending: one `Charge` per generation a call may pay for (its reservation until a look settles
  it), summed by UTC day and month, reserved against caps atomically across processes.

Writes that need no answer can wait for the next trip (`later=True`): queued in the account, they
are sent ahead of its next call to the store, in the same round trip (one script on Redis, one
transaction on SQLite), or by `flush()`. A step that writes several things in a row (a
create's outcome in the ledger, its charge and its history entry) so costs one round trip, not
three. A reservation can be queued too (`queue_reservation`): its answer (`Pending`) comes with
that trip. A queued write is kept only once sent: the code that queues one flushes before it goes on
to anything that depends on it (a wait, a response), and a queued write the store refuses is said
in the log by whichever call sent it.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import socket
import sys
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, Self, TypeVar

import anyio

from .records import HistoryEntry

if TYPE_CHECKING:
    from ..errors import StoreError

T = TypeVar("T")

ClaimState = Literal["creating", "created", "lost", "saving"]


class JsonRecord:
    """A flat dataclass (every field a plain value) kept as one JSON text (in Redis)."""

    def dumps(self) -> str:
        return json.dumps(vars(self), separators=(",", ":"))  # not `asdict`: no deep copy, 10× faster

    @classmethod
    def loads(cls, text: str | bytes) -> Self:
        values: dict[str, Any] = json.loads(text)
        return cls(**values)


@dataclass(frozen=True)
class Claim(JsonRecord):
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


@dataclass(frozen=True)
class Charge(JsonRecord):
    """What one generation of a call may cost: its reservation (before the create is sent, the
    worst case for a split), then, once a look sees the job end, its settled price."""

    charge_id: str
    call_id: str
    """The call it belongs to (a set's members share it)."""
    at: float
    """When it was reserved (wall clock)."""
    day: str
    """The UTC day it counts on, `YYYY-MM-DD` (its month is the first 7 characters)."""
    tool: str
    model: str
    micro_usd: int
    settled: bool = False
    """False while it counts at its reservation (a job not seen ended, or an answer lost)."""
    estimate: bool = False
    generation_id: str | None = None
    """The job, once its create answered."""

    @property
    def month(self) -> str:
        return self.day[:7]


@dataclass(frozen=True)
class Caps:
    """The most an account may spend, in micro-dollars (None: no cap)."""

    daily_micro: int | None = None
    monthly_micro: int | None = None


@dataclass(frozen=True)
class Totals:
    """What an account has spent (settled, or reserved while unsettled), in micro-dollars."""

    day_micro: int
    month_micro: int


class Pending(Generic[T]):
    """The answer to a call queued for an account's next trip to the store (`queue_reservation`,
    `queue_claim`): set by the trip that carries it, or its failure."""

    def __init__(self, convert: Callable[[Any], T] = lambda answer: answer) -> None:
        self._convert = convert
        self._answer: tuple[T] | None = None
        self._failure: StoreError | None = None

    def answered(self, raw: Any) -> None:
        """The trip that carried it answered `raw` (for a backend's own `convert`)."""
        self._answer, self._failure = (self._convert(raw),), None

    def failed(self, failure: StoreError) -> None:
        """The trip that carried it failed: it was not kept."""
        self._answer, self._failure = None, failure

    @property
    def sent(self) -> bool:
        return self._answer is not None or self._failure is not None

    @property
    def failed_with(self) -> StoreError | None:
        """The failure of the trip that carried it, if it failed."""
        return self._failure

    def answer(self) -> T:
        """The answer, once sent. Raises the trip's `StoreError` if it failed."""
        if self._failure is not None:
            raise self._failure
        assert self._answer is not None, "read before its trip was sent: flush first"
        return self._answer[0]


class Account(ABC):
    """One account's part of the store. Every method raises `StoreError` when the store is locked
    or unreachable."""

    # ------------------------------------------------------------------ history

    @abstractmethod
    async def put_entries(
        self, entries: Sequence[HistoryEntry], *, legacy: tuple[str, int] | None = None, later: bool = False
    ) -> None:
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
    def queue_claim(self, key: str, claim: Claim) -> Pending[Claim | None]:
        """`claim`, queued for the account's next trip (a lock on a job just created, with its
        record): its answer once sent."""

    @abstractmethod
    async def claim_and_read(
        self, key: str, claim: Claim, generation_id: str
    ) -> tuple[Claim | None, HistoryEntry | None]:
        """`claim`, then in the same trip the history entry of `generation_id` as the claim left it
        (for a lock's holder: read under the lock)."""

    @abstractmethod
    async def swap(self, key: str, expected: Claim, new: Claim | None, *, later: bool = False) -> bool | None:
        """Atomically: replace the claim under `key` by `new` (or remove it) if it is still
        `expected` (same token). Whether it was (None when queued: `later`)."""

    @abstractmethod
    async def job_finished(self, generation_id: str, at: float, expires: float, *, later: bool = False) -> None:
        """The created claim of job `generation_id`, if any, was first seen completed at `at`."""

    @abstractmethod
    async def forget_job(self, generation_id: str, *, later: bool = False) -> None:
        """Remove the created claim of job `generation_id`, if any."""

    # ------------------------------------------------------------------ uploads

    @abstractmethod
    async def upload(self, digest: str, now: float) -> str | None:
        """The `file_id` of content `digest`, while it may still be handed out."""

    @abstractmethod
    async def remember_upload(self, digest: str, file_id: str, until: float, now: float) -> None:
        """Hand `file_id` out for content `digest` until `until`; forget uploads past their time."""

    # ------------------------------------------------------------------ spending

    @abstractmethod
    async def reserve(self, charges: Sequence[Charge], caps: Caps) -> Totals | None:
        """Atomically across processes: keep `charges` (all on one day) unless their sum would take
        that day's or month's spending past `caps`. None when kept; else the totals that refused them."""

    @abstractmethod
    def queue_reservation(self, charges: Sequence[Charge], caps: Caps) -> Pending[Totals | None]:
        """`reserve`, queued for the account's next trip (a ledger's claim carries it): its answer
        once sent."""

    @abstractmethod
    async def attach_job(self, charge_id: str, generation_id: str, *, later: bool = False) -> None:
        """The create of charge `charge_id` answered with job `generation_id`."""

    @abstractmethod
    async def settle_job(self, generation_id: str, micro_usd: int, *, estimate: bool, later: bool = False) -> None:
        """A look saw job `generation_id` end: its unsettled charge, if any, now counts `micro_usd`."""

    @abstractmethod
    async def release(self, charge_ids: Sequence[str]) -> None:
        """Nothing was sent for these charges: they are removed, and count nothing."""

    @abstractmethod
    async def totals(self, day: str) -> Totals:
        """What was spent on `day` (`YYYY-MM-DD`) and in its month."""

    @abstractmethod
    async def recent_charges(self, limit: int) -> list[Charge]:
        """The last `limit` charges, most recent first."""

    # ------------------------------------------------------------------ queued writes

    @abstractmethod
    async def flush(self) -> None:
        """Send the writes queued with `later=True` (nothing to do if none). Raises `StoreError`
        (those writes are then dropped, and said in the log)."""


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


async def shielded(call: Callable[[], Awaitable[T]]) -> T:
    """`call`, finished even if the task is cancelled meanwhile (the cancellation is delivered after):
    for a trip that carries queued writes, one of which may be a lock's release."""
    with anyio.CancelScope(shield=True):
        return await call()
    raise AssertionError("a shielded scope is never cancelled")  # for type checkers


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
