"""The server as a client meets it: instructions that explain the tools, and without a key, tools
that still list and say how to set one."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp_types import TextContent

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.server import INSTRUCTIONS

from .support.servers import blocks, make_server

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


async def test_instructions_explain_how_the_tools_fit_together(client: Client) -> None:
    assert client.instructions == INSTRUCTIONS
    for step in ("generate_image", "wait_for_generation", "edit_image", "generation_id"):
        assert step in INSTRUCTIONS


async def test_without_a_key_the_tools_list_and_calls_say_how_to_set_it(
    settings: Settings, emulator: Emulator, mode: str
) -> None:
    server = make_server(settings.model_copy(update={"api_key": None}), emulator)
    async with Client(server, mode=mode) as client:  # pyright: ignore[reportArgumentType]
        assert len((await client.list_tools()).tools) == 8
        result = await client.call_tool("generate_image", {"prompt": "a cat"})
    assert result.is_error
    text = blocks(result, TextContent)[0].text
    assert "LUMA_AGENTS_API_KEY" in text
    assert "--emulator" in text
    assert emulator.requests == []
