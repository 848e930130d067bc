"""`LumaClient`: the Luma Agents API over one shared `httpx2.AsyncClient`.

Retry policy (DESIGN.md, CONTRACT.md "No idempotency"):
- GET is retried on 429, 5xx, unreadable bodies and connection errors, with exponential backoff
  that honours `Retry-After`, within the caller's deadline.
- POST is retried only where nothing can have been queued: a 429, or a connection that failed
  before the request went out. Any other failure after sending is `OutcomeUnknownError`, never
  retried: the API has no idempotency key, so a second POST could pay for a second image.
Every attempt carries a fresh `X-Request-Id`, which is logged and put in errors.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

import anyio
import httpx2
from pydantic import BaseModel, ValidationError

from .errors import (
    APIConnectionError,
    APIStatusError,
    MissingApiKeyError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    UploadError,
)
from .http import DEFAULT_BASE_URL, SharedHttpClient, timeout_within
from .keys import other_provider
from .models import CreatedFile, Generation, GenerationRequest, PresignedUpload, StoredFile
from .responses import error_detail, recovered_generation_id, retry_after_seconds

logger = logging.getLogger(__name__)


ModelT = TypeVar("ModelT", bound=BaseModel)

POLL_INTERVAL = 2.0
"""Seconds between GETs while waiting; the API asks for 2–5 s."""
FILE_POLL_INTERVAL = 1.0
"""Seconds between looks at an uploaded file until it is ready."""
FIRST_POLL_SPREAD = 2.0
"""Random extra wait before a new job's first GET, so parallel waits do not align."""
GET_GRACE = 3.0
"""How long past a wait's deadline its last GET may take before it is abandoned."""
CREATE_POOL_SECONDS = 5.0
"""The longest a create waits for a free connection. Its attempt cannot be cancelled once begun
(it may be queued and charged), so the wait before anything is sent is kept short; a create that
found no connection was not sent, and is tried again after a pause that can be cancelled."""

STATUS_HINTS = {
    400: "Change the arguments as the detail says.",
    401: "Check LUMA_AGENTS_API_KEY (Luma keys start with luma-api-).",
    402: "Add credits to the Luma account; nothing was charged.",
    403: "The Luma account cannot generate right now; check it in the Luma dashboard.",
    413: "Use a smaller image: 50 MB at most, under 4 MB recommended.",
    502: "The Luma service is unavailable upstream; try again in a few seconds.",
    503: "The API cannot fetch image URLs right now; pass the image as base64 data instead.",
}


class Timekeeper(Protocol):
    """Where the client reads time and waits: the system's, or a test's virtual clock."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemTime:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Tries per request, the first included."""
    base_delay: float = 0.5
    """Backoff before the second try; doubles each time, with jitter."""
    max_delay: float = 8.0
    max_retry_after: float = 20.0
    """The longest `Retry-After` waited out when the caller gave no deadline; with one, any wait
    that fits before it is taken, and a longer one is reported instead."""


@dataclass(frozen=True)
class _Attempt:
    """What one try produced: an error to raise or retry, and how long the server asked us to wait."""

    error: Exception
    retryable: bool
    retry_after: float | None = None


class LumaClient:
    """Create and read generations. Holds no connection of its own: `http` is shared and owned by
    the server's lifespan, and carries the key only on requests to `base_url`."""

    def __init__(
        self,
        http: SharedHttpClient,
        *,
        api_key: str | None,
        base_url: str = DEFAULT_BASE_URL,
        retry: RetryPolicy | None = None,
        timekeeper: Timekeeper | None = None,
        user_agent: str = "luma-agents-mcp",
        key_header: str | None = None,
    ) -> None:
        """`key_header`: the request header the key came from, when each user brings their own;
        errors about the key then point the caller there rather than at the server's setting."""
        self._http = http
        self._api_key = api_key
        self._key_header = key_header
        self._key_source = f"the key sent in the {key_header} header" if key_header else "LUMA_AGENTS_API_KEY"
        self._hints = {**STATUS_HINTS, 401: f"Check {self._key_source} (Luma keys start with luma-api-)."}
        self._base_url = base_url.rstrip("/")
        self._retry = retry or RetryPolicy()
        self.time: Timekeeper = timekeeper or SystemTime()
        self._user_agent = user_agent
        self._random = random.Random()  # noqa: S311 - jitter, not secrecy

    async def create(self, request: GenerationRequest, *, deadline: float | None = None) -> Generation:
        """Submit a generation; returns it queued. Raises `OutcomeUnknownError` rather than risk a
        second charge when the answer is lost. Retries (429) stop at `deadline`."""
        return await self._call(
            "POST", "/generations", Generation, json=request.payload(), idempotent=False, deadline=deadline
        )

    async def get(self, generation_id: str, *, deadline: float | None = None) -> Generation:
        """The generation's current state, with fresh output URLs when completed. Retries stop at
        `deadline`."""
        return await self._call("GET", f"/generations/{generation_id}", Generation, idempotent=True, deadline=deadline)

    async def upload_file(
        self, data: bytes, media_type: str, *, filename: str, deadline: float | None = None
    ) -> StoredFile:
        """Upload an image through the Files API's presigned flow and wait until it is `ready`:
        create (free, so safe to resend), PUT the bytes to storage (without the key), complete."""
        body = {"mime_type": media_type, "size_bytes": len(data), "filename": filename, "purpose": "input"}
        created = await self._call("POST", "/files", CreatedFile, json=body, idempotent=True, deadline=deadline)
        if created.upload is None:
            raise UploadError(f"The Files API gave no upload link for {filename}")
        await self._put(created.upload, data, filename, deadline=deadline)
        path = f"/files/{created.id}"
        stored = await self._call("POST", f"{path}/complete", StoredFile, idempotent=True, deadline=deadline)
        while stored.state == "pending":
            if deadline is not None and self.time.monotonic() + FILE_POLL_INTERVAL > deadline:
                raise UploadError(f"{filename} was uploaded as {created.id} but is not ready yet; use it a bit later")
            await self.time.sleep(FILE_POLL_INTERVAL)
            stored = await self._call("GET", path, StoredFile, idempotent=True, deadline=deadline)
        if stored.state != "ready":
            raise UploadError(f"The Files API refused {filename}: {stored.failure_reason or stored.state}")
        return stored

    async def _put(self, upload: PresignedUpload, data: bytes, filename: str, *, deadline: float | None) -> None:
        """The bytes to the presigned URL: its own signature, no API key. Retried like a GET,
        within `deadline`."""
        http = await self._http.get()
        for attempt in range(1, self._retry.attempts + 1):
            timeout = self._timeout(http, deadline)
            try:
                response = await http.request(
                    upload.method, upload.url, content=data, headers=upload.headers or {}, timeout=timeout
                )
            except httpx2.RequestError as exc:
                problem = type(exc).__name__
            else:
                if response.is_success:
                    return
                if response.status_code < 500:
                    raise UploadError(f"Storage refused the upload of {filename} (HTTP {response.status_code})")
                problem = f"HTTP {response.status_code}"
            delay = self._delay(attempt, None)
            if attempt == self._retry.attempts or (deadline is not None and self.time.monotonic() + delay > deadline):
                raise UploadError(f"The upload of {filename} failed ({problem})")
            await self.time.sleep(delay)

    async def poll(
        self,
        generation: Generation | str,
        *,
        deadline: float,
        on_update: Callable[[Generation], Awaitable[None]] | None = None,
        interval: float = POLL_INTERVAL,
    ) -> Generation:
        """GET every `interval` until the job is completed or failed, or `deadline` (on this client's
        clock) passes; returns the last state seen. A GET still unanswered `GET_GRACE` seconds past
        the deadline is abandoned (reads are safe to abandon).

        The schedule: given a `Generation` just created, the first GET comes after `interval` plus a
        random 0–2 s, so that parallel waits do not poll in step; then exactly every `interval`
        (the API asks for 2–5 s; a steady 2 s finds a finished job 1 s after it finished, on
        average, at 0.5 GET/s); the last GET lands on the deadline."""
        current = generation if isinstance(generation, Generation) else None
        generation_id = generation.id if isinstance(generation, Generation) else generation
        pause = interval + self._random.uniform(0.0, FIRST_POLL_SPREAD)
        while True:
            if current is not None:
                if current.terminal:
                    return current
                remaining = deadline - self.time.monotonic()
                if remaining <= 0:
                    return current
                await self.time.sleep(min(pause, remaining))
                pause = interval
            fresh: Generation | None = None
            with anyio.move_on_after(max(0.0, deadline - self.time.monotonic()) + GET_GRACE):
                fresh = await self.get(generation_id, deadline=deadline)
            if fresh is None:
                if current is None:
                    raise APIConnectionError("The Luma API did not answer in time")
                return current
            current = fresh
            if on_update is not None:
                await on_update(current)

    # ------------------------------------------------------------------ internals

    async def _call(
        self,
        method: str,
        path: str,
        model: type[ModelT],
        *,
        idempotent: bool,
        json: dict[str, Any] | None = None,
        deadline: float | None = None,
    ) -> ModelT:
        """One API request, answered as `model`, with the retry policy; `idempotent` says whether
        it may be sent again when its outcome is unknown (everything but a generation's create)."""
        if not self._api_key:
            raise MissingApiKeyError(header=self._key_header)
        if not self._api_key.isprintable() or " " in self._api_key or not self._api_key.isascii():
            raise MissingApiKeyError(unusable=True, header=self._key_header)
        other = other_provider(self._api_key)
        if other is not None:
            raise MissingApiKeyError(other=other, header=self._key_header)
        for attempt in range(1, self._retry.attempts + 1):
            if idempotent:  # a read gives up near the caller's deadline, and may be abandoned
                outcome = await self._attempt(method, path, model, json=json, idempotent=True, deadline=deadline)
            else:
                # A create keeps its full timeout and is awaited even by a cancelled caller: cut
                # short, it could be queued and charged with nobody knowing its id. Its wait for a
                # free connection is short (CREATE_POOL_SECONDS), and the pauses between attempts
                # stay cancellable (nothing is queued during them).
                sent: ModelT | _Attempt | None = None
                with anyio.CancelScope(shield=True):
                    sent = await self._attempt(method, path, model, json=json, idempotent=False, deadline=None)
                assert sent is not None  # a shield with no deadline of its own is never cancelled
                outcome = sent
            if not isinstance(outcome, _Attempt):
                return outcome
            if not outcome.retryable or attempt == self._retry.attempts:
                raise outcome.error
            if (
                deadline is None
                and outcome.retry_after is not None
                and outcome.retry_after > self._retry.max_retry_after
            ):
                raise outcome.error  # with no deadline to keep to, a long wait is the caller's to decide
            delay = self._delay(attempt, outcome.retry_after)
            if deadline is not None and self.time.monotonic() + delay > deadline:
                raise outcome.error
            logger.warning("%s %s: %s; retrying in %.1f s", method, path, outcome.error, delay)
            await self.time.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        backoff = min(self._retry.max_delay, self._retry.base_delay * 2 ** (attempt - 1))
        return backoff * (0.5 + self._random.random() / 2)

    def _timeout(self, http: httpx2.AsyncClient, deadline: float | None) -> httpx2.Timeout:
        """The client's timeouts, shortened to end by `deadline` (plus a grace for a last read)."""
        if deadline is None:
            return http.timeout
        return timeout_within(http.timeout, deadline + GET_GRACE - self.time.monotonic())

    async def _attempt(
        self,
        method: str,
        path: str,
        model: type[ModelT],
        *,
        json: dict[str, Any] | None,
        idempotent: bool,
        deadline: float | None,
    ) -> ModelT | _Attempt:
        request_id = str(uuid.uuid4())
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "X-Request-Id": request_id,
            "Accept": "application/json",
            "User-Agent": self._user_agent,
        }
        url = self._base_url + path
        try:
            client = await self._http.get()
            timeout = self._timeout(client, deadline)
            if not idempotent:
                limits = client.timeout
                pool = CREATE_POOL_SECONDS if limits.pool is None else min(limits.pool, CREATE_POOL_SECONDS)
                timeout = httpx2.Timeout(connect=limits.connect, read=limits.read, write=limits.write, pool=pool)
            response = await client.request(method, url, json=json, headers=headers, timeout=timeout)
        except (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout) as exc:
            # The request never left: safe to retry even a POST.
            message = f"Could not reach the Luma API at {self._base_url} ({type(exc).__name__})"
            return _Attempt(APIConnectionError(message, request_id=request_id), retryable=True)
        except (httpx2.LocalProtocolError, httpx2.UnsupportedProtocol, httpx2.InvalidURL) as exc:
            # Refused before sending; its text would quote the headers, so only its kind is named.
            message = (
                f"The request could not be sent ({type(exc).__name__}): check LUMA_BASE_URL, and "
                f"{self._key_source} for stray spaces or characters"
            )
            return _Attempt(APIConnectionError(message, request_id=request_id), retryable=False)
        except httpx2.RequestError as exc:
            logger.warning("%s %s: no answer (%s), request id %s", method, path, type(exc).__name__, request_id)
            if not idempotent:
                what = f"The connection failed ({type(exc).__name__}) after this generation request was sent"
                error = OutcomeUnknownError(what, request_id=request_id)
                return _Attempt(error, retryable=False)
            message = f"The Luma API did not answer ({type(exc).__name__})"
            return _Attempt(APIConnectionError(message, request_id=request_id), retryable=True)

        answered_id = response.headers.get("x-request-id") or request_id
        logger.info("%s %s → %d (request id %s)", method, path, response.status_code, answered_id)
        if response.is_success:
            try:
                return model.model_validate_json(response.content)
            except ValidationError:
                if not idempotent:  # only a generation's create is not idempotent
                    return cast("ModelT | _Attempt", _unreadable_creation(response, answered_id))
                message = "The Luma API sent an answer that could not be read"
                return _Attempt(APIConnectionError(message, request_id=answered_id), retryable=True)
        return self._status_error(response, answered_id, idempotent=idempotent)

    def _status_error(self, response: httpx2.Response, request_id: str, *, idempotent: bool) -> _Attempt:
        status = response.status_code
        detail = error_detail(response)
        retry_after = retry_after_seconds(response)
        if status == 429:
            return _Attempt(RateLimitError(detail, request_id=request_id, retry_after=retry_after), True, retry_after)
        hint = self._hints.get(status, "")
        if status >= 500 and not idempotent and not (status == 503 and "ingestion" in detail.lower()):
            # A 5xx to a create may come after the job was queued (URL ingestion fails before).
            what = f"The Luma API answered {status} ({detail}) to this generation request"
            error = OutcomeUnknownError(what, request_id=request_id, status=status)
            return _Attempt(error, retryable=False)
        if status >= 500:
            error = ServerError(status, detail, request_id=request_id, hint=hint)
            return _Attempt(error, retryable=idempotent, retry_after=retry_after)
        return _Attempt(APIStatusError(status, detail, request_id=request_id, hint=hint), retryable=False)


def _unreadable_creation(response: httpx2.Response, request_id: str) -> Generation | _Attempt:
    """A 2xx to a create means the job was queued and charged: recover its id if the body shows it."""
    found = recovered_generation_id(response)
    if found:
        logger.warning("create answered an unreadable body; recovered generation id %s", found)
        return Generation(id=found, state="queued")
    what = (
        f"The Luma API queued this generation request (HTTP {response.status_code}), but its answer could not be "
        "read to learn the job's id"
    )
    return _Attempt(OutcomeUnknownError(what, request_id=request_id, queued=True), retryable=False)
