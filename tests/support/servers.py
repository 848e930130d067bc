"""The MCP server in-process, against the emulator, on the emulator's clock (no real waiting), and
readers for what its tools answer."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server import MCPServer
from mcp_types import CallToolResult, TextContent

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.server import build_server
from luma_mcp.workspaces import AppState

from .clocks import VirtualTime
from .samples import KEY


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    return tmp_path / "images"


@pytest.fixture
def temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system's temporary folder, where images fall back to: one per test, not the real /tmp.
    Modules of tests that run the server name it in `pytest.mark.usefixtures`."""
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


def structured(result: CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None
    return result.structured_content


def blocks(result: CallToolResult, kind: type) -> list[Any]:
    return [block for block in result.content if isinstance(block, kind)]


def error_text(result: object) -> str:
    assert getattr(result, "is_error", False), result
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))  # type: ignore[attr-defined]
