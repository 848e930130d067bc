"""What the emulator remembers: accounts, generations, files, scripted outcomes and faults, the log.

The records, and `EmulatorState`, the one object that holds them all and that every service of an
emulator shares.
"""

from __future__ import annotations

import logging
import math
import secrets
import sqlite3
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio
import anyio.to_thread

from .clock import Clock
from .config import EmulatorConfig
from .ratelimit import RequestWindow
from .validation import CreateRequest

if TYPE_CHECKING:
    from .journal import Journal

logger = logging.getLogger(__name__)
_T = TypeVar("_T")
_A = TypeVar("_A")

KeyState = Literal["active", "invalid", "revoked", "expired", "suspended"]
Route = Literal["create", "get", "download", "files", "upload"]
FaultKind = Literal["status", "slow", "drop", "refuse", "malformed_json", "wrong_shape", "truncate", "corrupt"]
ROUTES: tuple[Route, ...] = ("create", "get", "download", "files", "upload")
FAULT_KINDS: tuple[FaultKind, ...] = (
    "status",
    "slow",
    "drop",
    "refuse",
    "malformed_json",
    "wrong_shape",
    "truncate",
    "corrupt",
)
FAILURE_CODES = (
    "content_moderated",
    "generation_failed",
    "budget_exhausted",
    "output_not_found",
    "image_too_large",
    "unsupported_format",
    "corrupt_input",
    "invalid_request",
    "rate_limited",
)
REFUNDED_FAILURES = ("content_moderated", "generation_failed", "output_not_found")  # [old]
FAILURE_REASONS = {  # [guess] the texts; the codes are the contract's
    "content_moderated": "The request was blocked by content moderation.",
    "generation_failed": "The model failed to produce an image. Retrying may succeed.",
    "budget_exhausted": "The account's spending budget is exhausted.",
    "output_not_found": "The generated output could not be found in storage.",
    "image_too_large": "An input image is too large to process.",
    "unsupported_format": "An input image is in an unsupported format.",
    "corrupt_input": "An input image could not be decoded.",
    "invalid_request": "The request could not be processed as given.",
    "rate_limited": "Upstream capacity was exceeded before the job could run.",
}
# Prices in micro-dollars [doc]; layering is not priced in the contract [guess: as an edit per
# layer at 1k, twice that at 2k].
BASE_PRICE = {
    ("uni-1", "image"): 40_400,
    ("uni-1", "image_edit"): 43_400,
    ("uni-1-max", "image"): 100_000,
    ("uni-1-max", "image_edit"): 103_000,
}
PRICE_PER_REF = 3_000
LAYER_PRICE = {"1k": 43_400, "2k": 86_800}
MAX_LAYERS = 10  # "1–10 RGBA PNGs" [3p]


@dataclass
class Account:
    """One API key and everything that counts against it."""

    fingerprint: str
    state: KeyState = "active"
    credits_micro: int | None = None
    """Balance in micro-dollars; None is unlimited."""
    spent_micro: int = 0
    window: RequestWindow = field(default_factory=RequestWindow)


@dataclass(frozen=True)
class InputImage:
    """An image input after it was fetched or decoded."""

    field: str
    origin: Literal["url", "data", "generation_id", "file_id"]
    media_type: str
    data: bytes


@dataclass(frozen=True)
class Output:
    """One rendered output, kept for downloads and `generation_id` chaining."""

    data: bytes
    media_type: str
    name: str
    layer: dict[str, Any] | None = None


@dataclass(frozen=True)
class Outcome:
    """How a scripted generation ends: its latency and, if it fails, the failure code."""

    latency: float | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    layers: int | None = None
    """For layering: how many layers the split makes (None: `EmulatorConfig.layers`)."""


@dataclass
class Generation:
    id: str
    owner: str
    request: CreateRequest
    created_at: float
    started_at: float
    finished_at: float
    """`math.inf` for a job that never finishes."""
    output_format: str
    size: tuple[int, int]
    output_names: tuple[str, ...]
    units: int
    price_micro: int
    inputs: tuple[InputImage, ...]
    failure_code: str | None = None
    failure_reason: str | None = None
    outputs: tuple[Output, ...] | None = None
    render_lock: anyio.Lock = field(default_factory=anyio.Lock)

    def state(self, now: float) -> str:
        if now < self.started_at:
            return "queued"
        if now < self.finished_at:
            return "processing"
        return "failed" if self.failure_code else "completed"

    def unfinished(self, now: float) -> bool:
        return now < self.finished_at or math.isinf(self.finished_at)


@dataclass
class StoredFile:
    id: str
    owner: str
    created_at: float
    mime_type: str
    size_bytes: int
    purpose: str
    filename: str | None
    user_id: str | None
    expires_at: float | None
    content: bytes | None = None
    completed_at: float | None = None
    ready_at: float | None = None
    failure_reason: str | None = None
    deleted_at: float | None = None

    def state(self, now: float) -> str:
        if self.deleted_at is not None:
            return "deleted"
        if self.ready_at is None or now < self.ready_at:
            return "pending"
        return "failed" if self.failure_reason else "ready"


@dataclass
class Fault:
    """One scripted misbehaviour, consumed by the next request on its route."""

    route: Route
    kind: FaultKind
    status: int = 502
    detail: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    created: bool = True
    """For `create`: whether the generation is made before the fault hits (an outcome the client
    cannot know). Status faults default to not creating (set in `Emulator.inject`)."""


@dataclass
class RequestRecord:
    """One request as the emulator saw it, without the API key. Logged on arrival, so a request
    never answered (cut, timed out) is in the log too, with `status` 0."""

    at: float
    method: str
    path: str
    query: str
    host: str
    route: str
    headers: dict[str, str]
    key_fingerprint: str | None
    """A short hash of the Bearer key (see `fingerprint()`), never the key."""
    authorization_sent: bool
    body: Any
    body_bytes: int
    status: int
    request_id: str
    fault: str | None = None
    generation_id: str | None = None


@dataclass(frozen=True)
class RegisteredUrl:
    """What an image URL registered with `Emulator.register_url` answers."""

    status: int
    content_type: str
    data: bytes


def _empty_fault_queues() -> dict[Route, deque[Fault]]:
    return {route: deque() for route in ROUTES}


@dataclass(eq=False)
class EmulatorState:
    """Everything one emulator holds. Its services share this object; `config` is replaced, not
    changed, by `Emulator.configure`, so a service reads it from here each time."""

    config: EmulatorConfig
    clock: Clock
    requests: list[RequestRecord] = field(default_factory=list[RequestRecord])
    """Every request the emulator served (admin paths excepted), oldest first."""
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    """Signs the presigned storage URLs."""
    accounts: dict[str, Account] = field(default_factory=dict[str, Account])
    """By key fingerprint."""
    generations: dict[str, Generation] = field(default_factory=dict[str, Generation])
    files: dict[str, StoredFile] = field(default_factory=dict[str, StoredFile])
    outcomes: deque[Outcome] = field(default_factory=deque[Outcome])
    """How the next generations end, as scripted; the default outcome when empty."""
    faults: dict[Route, deque[Fault]] = field(default_factory=_empty_fault_queues)
    urls: dict[str, RegisteredUrl] = field(default_factory=dict[str, RegisteredUrl])
    journal: Journal | None = None
    """Where generations and files are kept for later processes (`EmulatorConfig.state_dir`);
    None keeps them in this process only."""

    async def generation(self, generation_id: str) -> Generation | None:
        """A generation of this emulator, or one an earlier process kept in the journal (then kept
        here too); None if there is no such generation."""
        found = self.generations.get(generation_id)
        if found is None and self.journal is not None:
            kept = await self._from_journal(self.journal.generation, generation_id)
            found = None if kept is None else self.generations.setdefault(generation_id, kept)
        return found

    async def file(self, file_id: str) -> StoredFile | None:
        """An uploaded file as it now stands: read from the journal each time when there is one
        (another process may have filled, completed or deleted it since), else this process's
        copy; None if there is no such file."""
        if self.journal is not None:
            kept = await self._from_journal(self.journal.file, file_id)
            if kept is not None:
                return kept
        return self.files.get(file_id)

    async def files_of(self, owner: str) -> list[StoredFile]:
        """Every file of the key with fingerprint `owner`, earlier processes' included, oldest
        first. A file read from the journal comes without its bytes (`content` None): a listing
        needs only its record, and `file()` reads the bytes where they are used."""
        mine = [stored for stored in self.files.values() if stored.owner == owner]
        if self.journal is None:
            return mine
        listed = {kept.id: kept for kept in await self._from_journal(self.journal.files_of, owner) or []}
        unsaved = [stored for stored in mine if stored.id not in listed]
        return sorted([*listed.values(), *unsaved], key=lambda stored: stored.created_at)

    async def keep_generation(self, generation: Generation) -> None:
        """Write a generation just created to the journal, for later processes."""
        if self.journal is not None:
            await self._from_journal(self.journal.save_generation, generation)

    async def keep_file(self, stored: StoredFile) -> None:
        """Write a file as it now stands to the journal, for this and later processes. Once the
        journal has it, this process keeps no copy (the journal is read each time, and the bytes
        are not pinned in memory); a file the journal could not take stays here."""
        journal = self.journal
        if journal is None:
            return

        def save(file: StoredFile) -> bool:
            journal.save_file(file)
            return True

        if await self._from_journal(save, stored):
            self.files.pop(stored.id, None)
        else:
            self.files[stored.id] = stored

    async def _from_journal(self, work: Callable[[_A], _T], argument: _A) -> _T | None:
        """`work(argument)` in a worker thread; a journal that cannot be used is logged, and the
        emulator carries on in memory (None)."""
        try:
            return await anyio.to_thread.run_sync(work, argument)
        except (sqlite3.Error, OSError) as exc:
            where = self.journal.path if self.journal else None
            logger.warning("the emulator's journal %s cannot be used (%s): jobs live in this process only", where, exc)
            return None

    def reset(self) -> None:
        """Forget all records, scripts, faults and the log, the journal's too (the clock and config stay)."""
        if self.journal is not None:
            try:
                self.journal.clear()
            except (sqlite3.Error, OSError) as exc:
                logger.warning("the emulator's journal %s could not be cleared (%s)", self.journal.path, exc)
        self.requests.clear()
        self.accounts.clear()
        self.generations.clear()
        self.files.clear()
        self.outcomes.clear()
        for queue in self.faults.values():
            queue.clear()
        self.urls.clear()
