"""The MCP server in-process, against the emulator, on the emulator's clock (no real waiting)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client
from mcp.server import MCPServer

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.server import build_server
from luma_mcp.workspaces import AppState

from ..clocks import VirtualTime
from ..helpers import KEY


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    return tmp_path / "images"


@pytest.fixture(autouse=True)
def temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system's temporary folder, where images fall back to: one per test, not the real /tmp."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def settings(emulator: Emulator, output_dir: Path) -> Settings:
    return Settings(api_key=KEY, base_url=emulator.base_url, output_dir=output_dir)  # pyright: ignore[reportArgumentType]


def make_server(settings: Settings, emulator: Emulator) -> MCPServer[AppState]:
    return build_server(settings, transport=emulator.transport(), timekeeper=VirtualTime(emulator.clock))


@pytest.fixture
def server(settings: Settings, emulator: Emulator) -> MCPServer[AppState]:
    return make_server(settings, emulator)


@pytest.fixture(params=["auto", "legacy"], ids=["2026-07-28", "2025-11-25"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol eras the SDK speaks: the new discover handshake and the initialize one."""
    return request.param


@pytest.fixture
async def client(server: MCPServer[AppState], mode: str) -> AsyncIterator[Client]:
    async with Client(server, mode=mode, raise_exceptions=True) as connected:  # pyright: ignore[reportArgumentType]
        yield connected
