"""Streamable HTTP: the server at `/mcp` for a team or a hosted agent, plus `/healthz`.

Stateless (every request stands alone, so copies behind a load balancer need no shared state:
jobs live in the Luma API, files in the output folder), and guarded in layers:
- a Bearer token on every request (`LUMA_MCP_HTTP_TOKEN`, compared in constant time), required to
  bind beyond loopback;
- Host and Origin checks against DNS rebinding (the SDK's, with our allow-lists);
- a cap on request bodies, and no API keys in URLs (they end up in proxy logs).
"""

from __future__ import annotations

import hmac
import json
import logging
from urllib.parse import parse_qsl

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from . import __version__
from .config import Settings

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
SECRET_QUERY_NAMES = frozenset({"key", "api_key", "apikey", "api-key", "token", "access_token", "luma_api_key"})


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """Host and Origin allow-lists: as configured, else loopback's own names on loopback. Beyond
    loopback with no Host list, the Host is not checked (the token guards the server there)."""
    hosts = settings.allowed_hosts if settings.allowed_hosts is not None else LOOPBACK_HOSTS
    origins = settings.allowed_origins if settings.allowed_origins is not None else LOOPBACK_ORIGINS
    check = settings.allowed_hosts is not None or settings.loopback
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=check, allowed_hosts=hosts, allowed_origins=origins
    )


class Gatekeeper:
    """ASGI middleware in front of everything: `/healthz` answers on its own; every other request
    needs the token (when one is set) and must not carry a key in its URL."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self._app = app
        token = settings.http_token.get_secret_value() if settings.http_token else None
        self._expected = f"Bearer {token}".encode() if token else None
        self._emulator = settings.emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan events go through untouched
            await self._app(scope, receive, send)
            return
        if scope["path"] == HEALTH_PATH:
            await _answer(send, 200, {"status": "ok", "version": __version__, "emulator": self._emulator})
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if any(name.lower() in SECRET_QUERY_NAMES for name, _ in query):
            await _answer(send, 400, {"error": "keys and tokens are not accepted in URLs; send them in headers"})
            return
        if self._expected is not None:
            sent = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(sent, self._expected):
                await _answer(send, 401, {"error": "missing or wrong access token"}, [(b"www-authenticate", b"Bearer")])
                return
        await self._app(scope, receive, send)


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


def build_http_app(settings: Settings) -> ASGIApp:
    """The whole HTTP application: the MCP endpoint behind the gatekeeper."""
    from .server import build_server

    server = build_server(settings)
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=False,  # streamed answers, so progress reaches the client while a call waits
        transport_security=transport_security(settings),
        max_request_body_size=int(settings.http_max_body_mb * 1_000_000),
    )
    return Gatekeeper(app, settings)


def serve_http(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM; calls in progress get `shutdown_seconds` to finish."""
    import uvicorn

    config = uvicorn.Config(
        build_http_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,  # request lines would carry nothing useful, and the log stays about calls
        timeout_graceful_shutdown=int(settings.shutdown_seconds),
        lifespan="on",
    )
    logger.info("serving MCP at http://%s:%d%s", settings.host, settings.port, MCP_PATH)
    uvicorn.Server(config).run()
