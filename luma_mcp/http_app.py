"""Streamable HTTP: the server at `/mcp` for a team or a hosted agent, plus `/healthz`.

Stateless (every request stands alone and jobs live in the Luma API, so any copy behind a load
balancer can answer any call; only deduplication is per process, see README), and guarded in layers:
- a Bearer token on every request (`LUMA_MCP_HTTP_TOKEN`, compared in constant time), required to
  bind beyond loopback;
- Host and Origin checks against DNS rebinding (checked here, with answers naming the setting to
  change, and by the SDK behind, with the same allow-lists);
- a cap on request bodies, and no API keys in URLs (they end up in proxy logs).
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import socket
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from . import __version__
from .config import Settings
from .hosts import LOOPBACK_HOSTS, LOOPBACK_ORIGINS, allowed_by
from .jobs.draining import Draining
from .workspaces import KEY_HEADER

if TYPE_CHECKING:
    import uvicorn

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
SECRET_QUERY_NAMES = frozenset(
    {"key", "apikey", "api-key", "token", "access-token", "authorization", "luma-api-key", "luma-agents-api-key"}
    | {KEY_HEADER}  # the BYOK header's name, should a client put the key in the URL instead
)
"""Query names refused, compared in lower case with `_` read as `-`."""


def allowed_origins(settings: Settings) -> list[str] | None:
    """The browser origins accepted: as configured, else loopback's own on loopback, else any
    (None: beyond loopback with no list, the token guards the server)."""
    if settings.allowed_origins is not None:
        return settings.allowed_origins
    return LOOPBACK_ORIGINS if settings.loopback else None


def allowed_hosts(settings: Settings) -> list[str] | None:
    """The `Host` values accepted: as configured, else loopback's own names on loopback, else any
    (None: beyond loopback with no list, the token guards the server)."""
    if settings.allowed_hosts is not None:
        return settings.allowed_hosts
    return LOOPBACK_HOSTS if settings.loopback else None


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """The same Host and Origin allow-lists for the SDK, behind `Gatekeeper` (which checks both
    first, with answers that name the setting to change)."""
    hosts = allowed_hosts(settings)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=hosts is not None,
        allowed_hosts=hosts or [],
        allowed_origins=allowed_origins(settings) or [],
    )


class Gatekeeper:
    """ASGI middleware in front of everything: `/healthz` answers on its own; every other request
    needs the token (when one is set), an accepted `Host` and `Origin` (when it sends one), a body
    within the cap, and no key in its URL; a refusal names the setting that would let it in. Only
    HTTP and lifespan pass: nothing here speaks WebSocket, and a WebSocket would otherwise get past
    these checks to whatever handles it."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self._app = app
        token = settings.http_token.get_secret_value() if settings.http_token else None
        self._expected = f"Bearer {token}".encode() if token else None
        self._emulator = settings.emulator
        self._origins = allowed_origins(settings)
        self._hosts = allowed_hosts(settings)
        self._max_body_mb = settings.http_max_body_mb

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._app(scope, receive, send)
            return
        if scope["type"] != "http":
            await _refuse_websocket(receive, send)
            return
        if scope["path"] == HEALTH_PATH:
            await _answer(send, 200, {"status": "ok", "version": __version__, "emulator": self._emulator})
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if any(name.lower().replace("_", "-") in SECRET_QUERY_NAMES for name, _ in query):
            await _answer(send, 400, {"error": "keys and tokens are not accepted in URLs; send them in headers"})
            return
        headers = dict(scope["headers"])
        if self._expected is not None:
            sent = headers.get(b"authorization", b"")
            if not hmac.compare_digest(sent, self._expected):
                await _answer(send, 401, {"error": "missing or wrong access token"}, [(b"www-authenticate", b"Bearer")])
                return
        host = headers.get(b"host", b"").decode("latin-1")
        if self._hosts is not None and not allowed_by(host, self._hosts):
            # A DNS-rebound name, or a proxy in front passing a name nobody listed.
            error = (
                f"requests for the host {host or '(no Host header)'} are not accepted; list it in "
                "LUMA_MCP_ALLOWED_HOSTS (comma-separated, e.g. mcp.example.com or mcp.example.com:*)"
            )
            await _answer(send, 421, {"error": error})
            return
        origin = headers.get(b"origin", b"").decode("latin-1")
        if origin and self._origins is not None and not allowed_by(origin, self._origins):
            # A browser page from another site (or a DNS-rebound name) must not reach the tools.
            error = f"requests from the web origin {origin} are not accepted; list it in LUMA_MCP_ALLOWED_ORIGINS"
            await _answer(send, 403, {"error": error})
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self._max_body_mb * 1_000_000:
            # The SDK refuses it too, but without saying which limit or how to raise it.
            error = f"the request is over {self._max_body_mb:g} MB (LUMA_MCP_HTTP_MAX_BODY_MB); send smaller images"
            await _answer(send, 413, {"error": error})
            return
        await self._app(scope, receive, send)


async def _refuse_websocket(receive: Receive, send: Send) -> None:
    """Close before accepting: the server answers the handshake with 403."""
    await receive()  # websocket.connect
    await send({"type": "websocket.close", "code": 1008})


async def _answer(send: Send, status: int, body: object, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
            + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": payload})


def build_http_app(settings: Settings, draining: Draining | None = None) -> ASGIApp:
    """The whole HTTP application: the MCP endpoint behind the gatekeeper."""
    from .server import build_server

    server = build_server(settings, draining=draining)
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=False,  # streamed answers, so progress reaches the client while a call waits
        transport_security=transport_security(settings),
        max_request_body_size=int(settings.http_max_body_mb * 1_000_000),
    )
    return Gatekeeper(app, settings)


def uvicorn_config(settings: Settings, draining: Draining | None = None) -> uvicorn.Config:
    """How uvicorn serves the app: our address, log level and shutdown bound."""
    import uvicorn

    return uvicorn.Config(
        build_http_app(settings, draining),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,  # request lines would carry nothing useful, and the log stays about calls
        # uvicorn takes whole seconds: round up, so a call never gets less time than it was promised.
        timeout_graceful_shutdown=math.ceil(settings.shutdown_seconds),
        lifespan="on",
    )


def serve_http(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM; calls in progress get `shutdown_seconds` to finish."""
    import uvicorn

    draining = Draining()

    class DrainingServer(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # Waits end now with a hand-off (the job's id and next step), so each caller gets an
            # answer well inside the grace rather than a connection cut when it runs out.
            draining.begin()
            await super().shutdown(sockets)

    config = uvicorn_config(settings, draining)
    logger.info("serving MCP at http://%s:%d%s", settings.host, settings.port, MCP_PATH)
    DrainingServer(config).run()
