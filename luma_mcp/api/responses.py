"""Reading the API's answers: the `detail` of an error, `Retry-After`, and the id of a job whose
create answered a body that could not be read."""

from __future__ import annotations

import math
import re
from typing import Any, cast

import httpx2

GENERATION_ID = re.compile(r'"id"\s*:\s*"([0-9A-Fa-f-]{36})"')


def recovered_generation_id(response: httpx2.Response) -> str | None:
    """The generation id an unreadable body still shows, if any."""
    found = GENERATION_ID.search(response.text)
    return found.group(1) if found else None


def error_detail(response: httpx2.Response) -> str:
    """The API's `detail`: a string, or FastAPI's list of `{loc, msg}` made readable."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    detail: Any = cast("dict[str, Any]", body).get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts: list[str] = []
        for item in cast("list[Any]", detail):
            if isinstance(item, dict):
                entry = cast("dict[str, Any]", item)
                location = cast("list[Any]", entry.get("loc") or [])
                where = ".".join(str(p) for p in location if p != "body")
                parts.append(f"{where}: {entry.get('msg')}" if where else str(entry.get("msg")))
        if parts:
            return "; ".join(parts)[:300]
    return repr(cast(object, body))[:300]


def retry_after_seconds(response: httpx2.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None
