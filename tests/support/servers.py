"""The MCP server in-process, against the emulator, on the emulator's clock (no real waiting), and
readers for what its tools answer."""

from __future__ import annotations

import base64
import io
import json
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.extension import ClientExtension, advertise
from mcp.server import MCPServer
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp_types import CallToolResult, ImageContent, TextContent

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.server import build_server
from luma_mcp.workspaces import AppState

from .clocks import AutojumpTime, VirtualTime
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
    return build_server(
        settings, transport=emulator.transport(), timekeeper=VirtualTime(emulator.clock), clock=emulator.clock.now
    )


@pytest.fixture
def server(settings: Settings, emulator: Emulator) -> MCPServer[AppState]:
    return make_server(settings, emulator)


@pytest.fixture
async def autojump(emulator: Emulator) -> AsyncIterator[AutojumpTime]:
    """The emulator's clock jumping to the next wake-up whenever every task waits: for servers
    that wait on several jobs at once (`VirtualTime` would add their sleeps up)."""
    time = AutojumpTime(emulator.clock)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(time.drive)
        yield time
        tasks.cancel_scope.cancel()


@pytest.fixture(params=["auto", "legacy"], ids=["2026-07-28", "2025-11-25"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol eras the SDK speaks: the new discover handshake and the initialize one."""
    return request.param


@pytest.fixture
async def client(server: MCPServer[AppState], mode: str) -> AsyncIterator[Client]:
    async with Client(server, mode=mode, raise_exceptions=True) as connected:  # pyright: ignore[reportArgumentType]
        yield connected


def shows_apps() -> ClientExtension:
    """What a host that renders MCP Apps declares: the extension, with the app MIME type."""
    return advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


def structured(result: CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None
    return result.structured_content


def blocks(result: CallToolResult, kind: type) -> list[Any]:
    return [block for block in result.content if isinstance(block, kind)]


def text(result: Any) -> str:
    """The text blocks of a tool's result, a line each."""
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


def error_text(result: object) -> str:
    assert getattr(result, "is_error", False), result
    return text(result)


LONG_BASE64 = re.compile(r"[A-Za-z0-9+/]{500,}")


def inline_images(result: CallToolResult) -> list[bytes]:
    return [base64.b64decode(b.data) for b in result.content if isinstance(b, ImageContent)]


def assert_fits_the_host(result: CallToolResult, mode: str) -> None:
    """Within Claude Desktop's 1 MB and the 700 KB inline budget, previews no larger than the mode
    allows, and no image bytes in structured content."""
    from PIL import Image

    assert len(result.model_dump_json(by_alias=True)) <= 1_000_000  # Claude Desktop's cap
    images = inline_images(result)
    assert sum(len(i) for i in images) <= 700_000
    limit = {"auto": 1024, "full": 1568}.get(mode)
    if limit is None:
        assert images == []
    for data in images:
        assert max(Image.open(io.BytesIO(data)).size) <= (limit or 0)
    assert not LONG_BASE64.search(json.dumps(result.structured_content))  # no image bytes in structured
