"""Serve the emulator on a port for any client (`luma-agents-mcp emulator`), until Ctrl-C."""

from __future__ import annotations

import dataclasses
import logging
import socket
import sys
from typing import TextIO

from .clock import Clock
from .config import EmulatorConfig
from .handle import Emulator
from .wire import ConnectionDropped

SUGGESTED_KEY = "luma-api-emulator-key"
ADMIN_TOKEN_ENV = "LUMA_EMULATOR_ADMIN_TOKEN"  # noqa: S105 - the variable's name, not a secret
"""The admin paths' token; from the environment only, as argv is visible to every local user."""
# A wildcard bind is reachable on loopback; print that, not an address no client can dial.
WILDCARD_SHOWN_AS = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}  # noqa: S104


class _HideEmulatedDrops(logging.Filter):
    """Uvicorn logs a traceback for every app exception; an emulated drop is not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def serve(config: EmulatorConfig, *, host: str = "127.0.0.1", port: int = 4010, out: TextIO = sys.stdout) -> None:
    """Bind, print the base URL and a key, and serve on real time until interrupted."""
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # listening before the address is printed: a client may connect at once
    port = sock.getsockname()[1]
    shown_host = WILDCARD_SHOWN_AS.get(host, f"[{host}]" if family == socket.AF_INET6 else host)
    api_base = f"http://{shown_host}:{port}/v1"
    storage_base = config.storage_base_url
    if storage_base == EmulatorConfig.storage_base_url:
        # Another host name for the same socket, so clients treat storage as a different origin
        # (and must not send it the API key), as they would with S3.
        storage_host = "localhost" if shown_host in ("127.0.0.1", "[::1]") else shown_host
        storage_base = f"http://{storage_host}:{port}"
    config = dataclasses.replace(config, api_base_url=api_base, storage_base_url=storage_base)
    emulator = Emulator(config, clock=Clock(frozen=False))

    banner = (
        "Luma Agents API emulator (Ctrl-C to stop)\n"
        f"  LUMA_BASE_URL={api_base}\n"
        f"  LUMA_AGENTS_API_KEY={SUGGESTED_KEY}\n"
        f"  storage: {storage_base}   admin: {api_base.removesuffix('/v1')}/_emulator/"
        f"{f' (Authorization: Bearer ${ADMIN_TOKEN_ENV})' if config.admin_token else ''}\n"
        f"  latency {config.latency:g} s, {config.rpm} requests/min, {config.concurrency} concurrent jobs per key\n"
    )

    class AnnouncingServer(uvicorn.Server):
        """Prints the banner once serving, when Ctrl-C already means a clean shutdown."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                out.write(banner)
                out.flush()

    logging.getLogger("uvicorn.error").addFilter(_HideEmulatedDrops())
    AnnouncingServer(uvicorn.Config(emulator.app, log_level="warning", lifespan="off")).run(sockets=[sock])
