"""The one exception of the emulator: an HTTP answer with a `{"detail": ...}` body."""

from __future__ import annotations

from collections.abc import Mapping


class ApiError(Exception):
    """Raised anywhere in a handler; the app turns it into `status` + `{"detail": detail}`."""

    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})
