"""The `/_emulator` admin paths: the scripting methods of `Emulator` over HTTP, for a standalone
emulator that tests or SDKs in another process drive (`POST /_emulator/faults`, `/clock`, ...)."""

from __future__ import annotations

import base64
import hmac
import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .wire import iso

if TYPE_CHECKING:
    from .handle import Emulator


async def admin(request: Request) -> Response:
    """`{GET,POST,DELETE} /_emulator/{action}`, behind the admin token when one is set."""
    emulator: Emulator = request.app.state.emulator
    action = request.path_params["action"]
    token = emulator.config.admin_token
    sent = request.headers.get("authorization", "").encode()
    if token is not None and not hmac.compare_digest(sent, f"Bearer {token}".encode()):
        # Anyone who can reach the admin paths can reset the emulator or change its keys.
        detail = "the /_emulator admin paths need Authorization: Bearer <LUMA_EMULATOR_ADMIN_TOKEN>"
        return JSONResponse({"detail": detail}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
    try:
        payload: dict[str, Any] = json.loads(await request.body() or b"{}")
        result = _admin_action(emulator, request.method, action, payload)
    except (TypeError, ValueError, KeyError) as error:
        return JSONResponse({"detail": f"{action}: {error}"}, status_code=400)
    return JSONResponse(result)


def _admin_action(emulator: Emulator, method: str, action: str, payload: dict[str, Any]) -> Any:
    match method, action:
        case "GET", "requests":
            return [asdict(r) for r in emulator.requests]
        case "DELETE", "requests":
            emulator.requests.clear()
            return {"cleared": True}
        case "POST", "clock":
            return {"now": iso(emulator.clock.advance(float(payload["advance"])))}
        case "POST", "script":
            emulator.script_next(**payload)
        case "POST", "faults":
            emulator.inject(**payload)
        case "POST", "keys":
            emulator.set_key(**payload)
        case "POST", "config":
            emulator.configure(**payload)
        case "POST", "urls":
            data = base64.b64decode(payload.pop("data"))
            emulator.register_url(payload.pop("url"), data, **payload)
        case "POST", "reset":
            emulator.reset()
        case _:
            raise KeyError(f"no admin action {method} {action}")
    return {"ok": True}
