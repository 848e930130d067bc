"""Shared by the benchmarks: an in-process server on the emulator, where waiting costs no time."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from mcp.server import MCPServer

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.server import build_server
from luma_mcp.workspaces import AppState

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.clocks import VirtualTime  # the tests' clock: one definition of virtual time

KEY = "luma-api-benchmark"

# MCPServer turns on INFO logging for the whole process; a benchmark prints only its figures.
logging.disable(logging.INFO)


def virtual_server(emulator: Emulator, folder: Path, **settings: object) -> MCPServer[AppState]:
    config = Settings(api_key=KEY, base_url=emulator.base_url, output_dir=folder, **settings)  # pyright: ignore[reportArgumentType]
    return build_server(config, transport=emulator.transport(), timekeeper=VirtualTime(emulator.clock))
