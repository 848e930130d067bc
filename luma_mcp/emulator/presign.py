"""Presigned storage URLs in the shape of S3's query-string auth (`?X-Amz-Expires=3600&...`).

Signed with a per-emulator secret over the path and the signing time, so a URL works until it
expires on the emulator's clock, and an edited one does not.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlencode

DATE_FORMAT = "%Y%m%dT%H%M%SZ"

Verdict = Literal["ok", "expired", "bad-signature"]


def _signature(secret: bytes, method: str, path: str, date: str, expires: str) -> str:
    message = f"{method}\n{path}\n{date}\n{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def presign(base_url: str, path: str, *, method: str, now: float, ttl: int, secret: bytes) -> str:
    """A URL for `method path` on the storage host, valid for `ttl` seconds from `now`."""
    date = time.strftime(DATE_FORMAT, time.gmtime(now))
    query = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"EMULATOR/{date[:8]}/us-east-1/s3/aws4_request",
        "X-Amz-Date": date,
        "X-Amz-Expires": str(ttl),
        "X-Amz-SignedHeaders": "host",
        "X-Amz-Signature": _signature(secret, method, path, date, str(ttl)),
    }
    return f"{base_url.rstrip('/')}{path}?{urlencode(query)}"


def expires_at(query: Mapping[str, str]) -> float | None:
    """When a presigned URL stops working, from its `X-Amz-Date` and `X-Amz-Expires`."""
    try:
        signed = calendar.timegm(time.strptime(query["X-Amz-Date"], DATE_FORMAT))
        return signed + int(query["X-Amz-Expires"])
    except (KeyError, ValueError):
        return None


def verify(query: Mapping[str, str], *, method: str, path: str, now: float, secret: bytes) -> Verdict:
    date, expires = query.get("X-Amz-Date", ""), query.get("X-Amz-Expires", "")
    expected = _signature(secret, method, path, date, expires)
    if not hmac.compare_digest(expected, query.get("X-Amz-Signature", "")):
        return "bad-signature"
    deadline = expires_at(query)
    if deadline is None:
        return "bad-signature"
    return "ok" if now <= deadline else "expired"
