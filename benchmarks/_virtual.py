"""Shared by the benchmarks: an in-process server on the emulator, where waiting costs no time."""

from __future__ import annotations

import logging
from pathlib import Path

from mcp.server import MCPServer

from luma_mcp.config import Settings
from luma_mcp.emulator import Clock, Emulator
from luma_mcp.server import build_server
from luma_mcp.tools import AppState

KEY = "luma-api-benchmark"

# MCPServer turns on INFO logging for the whole process; a benchmark prints only its figures.
logging.disable(logging.INFO)


class VirtualTime:
    """The client's clock is the emulator's, and a sleep jumps it forward instead of waiting."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def monotonic(self) -> float:
        return self.clock.now()

    async def sleep(self, seconds: float) -> None:
        await self.clock.skip(seconds)


def virtual_server(emulator: Emulator, folder: Path, **settings: object) -> MCPServer[AppState]:
    config = Settings(api_key=KEY, base_url=emulator.base_url, output_dir=folder, **settings)  # pyright: ignore[reportArgumentType]
    return build_server(config, transport=emulator.transport(), timekeeper=VirtualTime(emulator.clock))
