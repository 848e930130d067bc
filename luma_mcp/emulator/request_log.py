"""The request log: one `RequestRecord` per request, made on arrival, without the API key and with
long strings elided, so a test or the admin paths can read what a client sent."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from .state import Fault, RequestRecord
from .wire import fingerprint, route_of

if TYPE_CHECKING:
    from .handle import Emulator

ELIDE_OVER = 4096
"""Strings longer than this are logged as their length only, so the log stays small."""


def request_id_of(request: Request) -> str:
    """The client's `X-Request-Id` if it is a sane one, else a new UUID."""
    sent = request.headers.get("x-request-id", "")
    return sent if 0 < len(sent) <= 128 and sent.isprintable() else str(uuid.uuid4())


def log_request(emulator: Emulator, request: Request, *, request_id: str, fault: Fault | None) -> RequestRecord:
    """Log a request on arrival; the caller fills in what it learns (body, status)."""
    authorization = request.headers.get("authorization")
    _, _, key = (authorization or "").partition(" ")
    record = RequestRecord(
        at=emulator.clock.now(),
        method=request.method,
        path=request.url.path,
        query=request.url.query,
        host=request.headers.get("host", ""),
        route=route_of(request.method, request.url.path),
        headers={k: v for k, v in request.headers.items() if k != "authorization"},
        key_fingerprint=fingerprint(key) if key else None,
        authorization_sent=authorization is not None,
        body=None,
        body_bytes=0,
        status=0,
        request_id=request_id,
        fault=fault.kind if fault else None,
    )
    emulator.requests.append(record)
    return record


def elide(value: Any) -> Any:
    """A JSON body as logged: strings over `ELIDE_OVER` characters replaced by their length."""
    if isinstance(value, str) and len(value) > ELIDE_OVER:
        return f"<{len(value)} chars>"
    if isinstance(value, dict):
        return {k: elide(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [elide(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return value
