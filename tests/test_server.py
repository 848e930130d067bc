"""The server as a client meets it: instructions that explain the tools, without a key tools that
still list and say how to set one, and a start that waits for nothing a call needs (`--emulator`'s
emulator, the tools' functions, the client, the store) before the tools are listed."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_types import TextContent
from pydantic import SecretStr

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.media.folders import user_id
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


ON_FIRST_USE = """
import json, sys
import anyio
from mcp import Client
from luma_mcp.config import Settings
from luma_mcp.server import build_server

def loaded():
    return sorted(name for name in sys.modules if name.startswith(("luma_mcp.", "sqlite3")))

async def main():
    settings = Settings.load({"emulator": True, "output_dir": sys.argv[1]}, environ={})
    async with Client(build_server(settings)) as client:
        tools = sorted(tool.name for tool in (await client.list_tools()).tools)
        before = loaded()
        missing = await client.call_tool("get_generation", {"generation_id": "00000000-0000-4000-8000-000000000000"})
        called = loaded()
        prompts = [prompt.name for prompt in (await client.list_prompts()).prompts]
        templates = len((await client.list_resource_templates()).resource_templates)
        listed = (await client.call_tool("list_generations", {})).structured_content or {}
        print(json.dumps({
            "tools": tools, "before": before, "called": called, "answer": missing.content[0].text,
            "prompts": prompts, "templates": templates, "after": loaded(),
            "listed": [g["generation_id"] for g in listed.get("generations", [])],
        }))

anyio.run(main)
"""
"""Lists the tools in a fresh interpreter (the test's own has loaded everything long ago), then
calls one, then lists the prompts and templates: which modules were loaded by each step."""


def _first_use(images: Path) -> dict[str, Any]:
    ran = subprocess.run(
        [sys.executable, "-c", ON_FIRST_USE, str(images)], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(ran.stdout)


@pytest.fixture(scope="module")
def first_use(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _first_use(tmp_path_factory.mktemp("first-use") / "images")


def test_an_earlier_history_is_imported_after_the_tools_are_listed_not_before(tmp_path: Path) -> None:
    """Its import opens the store: begun once the host has its tools, so that spawn to the tools
    listed takes as long with a history to import as without one."""
    log = tmp_path / "images" / ".luma-agents" / "history.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text(
        '{"generation_id": "aaaaaaaa-old", "prompt": "an old fox", "state": "completed", '
        '"created_at": "2026-01-01T00:00:00Z", "recorded_at": "2026-01-01T00:00:00.000000Z"}\n'
    )
    used = _first_use(tmp_path / "images")
    assert {"luma_mcp.store.sqlite", "luma_mcp.store.history", "sqlite3"} & set(used["before"]) == set()
    assert used["listed"] == ["aaaaaaaa-old"]


def test_with_the_emulator_tools_list_before_it_loads_and_the_first_request_loads_it(
    first_use: dict[str, Any],
) -> None:
    # Hosts spawn a server per session and wait for tools/list.
    assert "generate_image" in first_use["tools"]
    assert [name for name in first_use["before"] if name.startswith("luma_mcp.emulator")] == []
    assert "luma_mcp.emulator.handle" in first_use["called"]
    assert "not found" in first_use["answer"].lower()  # the emulator's own answer


def test_tools_list_loads_nothing_a_call_needs_and_the_first_call_loads_it(first_use: dict[str, Any]) -> None:
    # The tools' functions and models, the API client, the store, the catalog, the prompts and
    # templates: made by the first request that needs them, not before a host sees its tools.
    for_calls = {
        "luma_mcp.tools.handlers", "luma_mcp.tools.arguments", "luma_mcp.tools.result_models", "luma_mcp.ui.app_tools",
        "luma_mcp.api.client", "luma_mcp.api.models", "luma_mcp.jobs.runner", "luma_mcp.store.sqlite", "sqlite3",
    }  # fmt: skip
    assert for_calls & set(first_use["before"]) == set()
    assert {"luma_mcp.catalog", "luma_mcp.prompts"} & set(first_use["before"]) == set()
    assert for_calls - {"luma_mcp.ui.app_tools"} <= set(first_use["called"])
    assert "product_shot" in first_use["prompts"]
    assert first_use["templates"] == 5
    assert "luma_mcp.prompts" in first_use["after"]


@pytest.mark.parametrize(
    ("key", "whose", "prefix"),
    [("sk-ant-api03-0123456789", "an Anthropic", "sk-ant-"), ("sk-proj-0123456789", "an OpenAI", "sk-")],
    ids=["anthropic", "openai"],
)
async def test_another_providers_key_is_named_and_never_sent(
    settings: Settings, emulator: Emulator, key: str, whose: str, prefix: str
) -> None:
    server = make_server(settings.model_copy(update={"api_key": SecretStr(key)}), emulator)
    async with Client(server) as client:
        result = await client.call_tool("generate_image", {"prompt": "a cat"})
    assert result.is_error
    text = blocks(result, TextContent)[0].text
    assert text.removeprefix("Error executing tool generate_image: ").startswith(
        f"LUMA_AGENTS_API_KEY holds {whose} key (it starts with {prefix}), not a Luma Agents API key, so nothing "
        "was sent. Set LUMA_AGENTS_API_KEY to your Luma Agents API key"
    )
    assert "--emulator" in text
    assert key not in text
    assert emulator.requests == []


async def test_an_output_folder_that_cannot_be_written_is_reported_at_start(
    settings: Settings, emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a-file").write_text("in the way")
    unwritable = tmp_path / "a-file" / "images"
    async with Client(make_server(settings.model_copy(update={"output_dir": unwritable}), emulator)) as client:
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        await client.list_tools()
    assert warned == [
        f"LUMA_MCP_OUTPUT_DIR: {unwritable} cannot be written (Not a directory): images will be saved in "
        f"{tempfile.gettempdir()}/luma-agents-mcp-{user_id()} instead, where temporary files get cleaned. Set "
        "LUMA_MCP_OUTPUT_DIR to a folder that can be written."
    ]
    assert emulator.requests == []  # before any image, paid or not
