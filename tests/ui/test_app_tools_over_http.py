"""The view's tools on a team server (Streamable HTTP, nothing saved): renditions come from a fresh
link through the server, and stateless 2025-11-25 requests (whose capabilities are unknown) still
reach the view's tools."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import ImageContent

from luma_mcp.media.previews import make_preview
from luma_mcp.ui.app_tools import RENDITIONS

from ..support.processes import Standalone, http_server, standalone_emulator
from ..support.servers import shows_apps, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


@pytest.fixture
def api() -> Iterator[Standalone]:
    with standalone_emulator("--latency", "0", "--long-edge", "512") as running:
        yield running


@asynccontextmanager
async def apps_client(base_url: str, mode: str, headers: dict[str, str] | None = None) -> AsyncIterator[Client]:
    """A host that shows the MCP App view; `headers` (a BYOK user's key) go with every request."""
    extensions = [shows_apps()]
    async with (
        httpx2.AsyncClient(headers=headers or {}, timeout=30) as http,
        Client(streamable_http_client(f"{base_url}/mcp", http_client=http), mode=mode, extensions=extensions) as client,  # pyright: ignore[reportArgumentType]
    ):
        yield client


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_where_nothing_is_saved_a_rendition_comes_from_a_fresh_link(
    api: Standalone, tmp_path: Path, mode: str
) -> None:
    env = {"HOME": str(tmp_path), "LUMA_BASE_URL": api.base_url, "LUMA_AGENTS_API_KEY": api.key}
    with http_server("--wait-seconds", "0", env=env) as base_url:
        async with apps_client(base_url, mode) as client:
            assert {"view_generations", "view_image"} <= {tool.name for tool in (await client.list_tools()).tools}
            made = structured(await client.call_tool("generate_image", {"prompt": "a fox, on a team server"}))
            looked = structured(await client.call_tool("view_generations", {"generation_ids": [made["generation_id"]]}))
            assert looked["state"] == "completed"
            [output] = looked["outputs"]
            assert output["path"] is None  # nothing kept on the server's disk
            answer = await client.call_tool("view_image", {"generation_id": made["generation_id"]})
    [image] = [block for block in answer.content if isinstance(block, ImageContent)]
    async with httpx2.AsyncClient() as http:
        original = (await http.get(output["url"])).content
    edge, budget = RENDITIONS["display"]
    expected = make_preview(io.BytesIO(original), max_edge=edge, budget=budget)
    assert structured(answer)["sha256"] == hashlib.sha256(expected.data).hexdigest()
    assert image.mime_type == expected.media_type
