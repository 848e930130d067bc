"""Per-key limits on `POST /v1/generations`: a sliding 60 s request window and a concurrency cap.

Both count weight units (1 per request unless `EmulatorConfig.weights` says otherwise). Excess is
rejected with 429 and never queued.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from .errors import ApiError

WINDOW = 60.0


@dataclass
class RequestWindow:
    """Accepted requests of one key in the last 60 s, as (time, units), oldest first."""

    entries: deque[tuple[float, int]] = field(default_factory=deque[tuple[float, int]])

    def used(self, now: float) -> int:
        while self.entries and self.entries[0][0] <= now - WINDOW:
            self.entries.popleft()
        return sum(units for _, units in self.entries)

    def seconds_until_room(self, now: float, units: int, limit: int) -> float:
        """How long until `units` more fit under `limit` (0 if they fit now)."""
        excess = self.used(now) + units - limit
        if excess <= 0:
            return 0.0
        for at, entry_units in self.entries:
            excess -= entry_units
            if excess <= 0:
                return at + WINDOW - now
        return WINDOW  # a request heavier than the whole limit never fits: say a minute

    def reset_at(self, now: float) -> float:
        """When the oldest entry leaves the window (now + 60 s for an empty window)."""
        return (self.entries[0][0] if self.entries else now) + WINDOW


def check_limits(
    window: RequestWindow,
    unfinished_units: int,
    *,
    now: float,
    units: int,
    rpm: int,
    concurrency: int,
    weighted: bool,
) -> None:
    """Raise the contract's 429 when this request would exceed either limit."""
    wait = window.seconds_until_room(now, units, rpm)
    if wait > 0:
        retry_after = max(1, math.ceil(wait))
        raise ApiError(
            429,
            "Rate limit exceeded",
            {
                "Retry-After": str(retry_after),
                "X-RateLimit-Limit": str(rpm),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(math.ceil(now + wait)),  # [guess] epoch seconds
            },
        )
    if unfinished_units + units > concurrency:
        detail = (
            f"Concurrent generation capacity reached (limit={concurrency} weight units; "
            f"this request needs {units}). Wait for existing jobs to complete."
            if weighted
            else "Too many concurrent jobs"
        )
        raise ApiError(429, detail, {"Retry-After": "60"})


def success_headers(window: RequestWindow, *, now: float, rpm: int) -> dict[str, str]:
    """The `X-RateLimit-*` headers of a 201, after the request was recorded in `window`."""
    return {
        "X-RateLimit-Limit": str(rpm),
        "X-RateLimit-Remaining": str(max(0, rpm - window.used(now))),
        "X-RateLimit-Reset": str(math.ceil(window.reset_at(now))),
    }
