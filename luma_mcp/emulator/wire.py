"""What the emulated API and its storage host put on the wire, shared by the services and HTTP.

Key fingerprints, timestamps, the fault route a request belongs to, the default `detail` of an
injected status, S3's XML errors, and the exception that cuts a connection part-way through an
answer. Cheap to import: no Starlette, no `httpx2`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

DEFAULT_STATUS_DETAIL = {
    429: "Rate limit exceeded",
    500: "Internal server error",
    502: "Upstream service unavailable",
    503: "Image URL ingestion unavailable",
}
"""The `detail` of an injected status fault that names none."""


def fingerprint(key: str) -> str:
    """A short, stable, non-reversible name for an API key, used in the request log."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def iso(t: float) -> str:
    """A timestamp as the API writes it: `2026-04-08T12:00:00Z`."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> float:
    """An ISO 8601 timestamp sent by a client (`Z` or an offset), as seconds since the epoch."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def route_of(method: str, path: str) -> str:
    """The fault route a request belongs to (`create`, `get`, `download`, `files`, `upload`)."""
    if path.startswith("/v1/generations"):
        return "create" if method == "POST" else "get"
    if path.startswith("/v1/files"):
        return "files"
    if path.startswith("/generations/"):
        return "download"
    if path.startswith("/uploads/"):
        return "upload"
    return "admin" if path.startswith("/_emulator") else "other"


@dataclass(frozen=True)
class StorageAnswer:
    """What the storage host answers: a status, headers and a body."""

    status: int
    headers: dict[str, str]
    body: bytes


def s3_error(status: int, code: str, message: str) -> StorageAnswer:
    """An error of the storage host, in S3's XML shape."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{secrets.token_hex(8)}</RequestId></Error>"
    )
    return StorageAnswer(status, {"Content-Type": "application/xml"}, body.encode())


def s3_etag(data: bytes) -> str:
    """The `ETag` S3 gives a single-PUT object: the MD5 of its bytes, quoted."""
    return f'"{hashlib.md5(data).hexdigest()}"'  # noqa: S324 - S3's ETag, not a security use


class ConnectionDropped(Exception):  # noqa: N818 - it names an event, not an error of ours
    """Raised after a partial response to make the server (or the in-process transport) cut the
    connection. `sent` is the body that went out before the cut."""

    def __init__(self, status: int, headers: Mapping[str, str], sent: bytes, expected: int) -> None:
        super().__init__(f"connection dropped after {len(sent)} of {expected} bytes")
        self.status = status
        self.headers = dict(headers)
        self.sent = sent
        self.expected = expected
