"""What an injected fault makes of an answer: an error status, malformed or misshapen JSON, a
connection cut before or part-way through the body, or corrupted download bytes.

The faults are queued with `Emulator.inject`; `app.py` takes them and applies them through here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from .state import Fault
from .wire import DEFAULT_STATUS_DETAIL, ConnectionDropped


class DropConnection(Response):
    """Start a response announcing all of `body`, send the first `keep` bytes, then cut."""

    def __init__(
        self, body: bytes, *, status: int = 200, headers: Mapping[str, str] | None = None, keep: int = 0
    ) -> None:
        super().__init__(status_code=status, headers=headers)
        self.full = body or b" "
        self.keep = keep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.headers["content-length"] = str(len(self.full))
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        sent = self.full[: self.keep]
        await send({"type": "http.response.body", "body": sent, "more_body": True})
        raise ConnectionDropped(self.status_code, dict(self.headers), sent, len(self.full))


def api_fault_response(
    fault: Fault, headers: dict[str, str], payload: Any, status: int, *, now: float, rpm: int
) -> Response:
    """The API answer a fault makes of what would have been `status` + `payload`."""
    match fault.kind:
        case "status":
            detail = fault.detail or DEFAULT_STATUS_DETAIL.get(fault.status, "Emulated fault")
            if fault.retry_after is not None or fault.status == 429:
                headers["Retry-After"] = str(fault.retry_after or 1)
            if fault.status == 429 and detail == "Rate limit exceeded":  # the contract's RPM 429 headers
                reset = str(math.ceil(now + (fault.retry_after or 1)))
                headers |= {"X-RateLimit-Limit": str(rpm), "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
            return JSONResponse({"detail": detail}, status_code=fault.status, headers=headers)
        case "malformed_json":
            text = json.dumps(payload)
            return Response(text[: len(text) // 2], status_code=status, headers=headers, media_type="application/json")
        case "wrong_shape":
            return JSONResponse({"status": "ok", "result": None}, status_code=status, headers=headers)
        case _:  # drop, refuse (on a real socket there is no refusing once accepted)
            return DropConnection(json.dumps(payload).encode(), status=status, headers=headers)


def storage_fault_response(fault: Fault | None, status: int, headers: dict[str, str], body: bytes) -> Response:
    """The storage host's answer, as a fault (if any; `slow` was applied already) changes it."""
    applied = fault if fault and fault.kind != "slow" else None
    if applied is not None and applied.kind == "status":
        status, body = applied.status, b"Emulated storage fault"
        headers = {"Content-Type": "text/plain"}
    if applied is not None and applied.kind in ("drop", "refuse"):
        return DropConnection(body, status=status, headers=headers)
    if applied is not None and applied.kind == "truncate":
        return DropConnection(body, status=status, headers=headers, keep=len(body) // 2)
    if applied is not None and applied.kind == "corrupt" and len(body) > 64:
        middle = len(body) // 2
        body = body[:middle] + bytes(b ^ 0xA5 for b in body[middle : middle + 1024]) + body[middle + 1024 :]
    return Response(body, status_code=status, headers=headers)
