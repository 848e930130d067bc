"""The real process, as MCP clients launch it: `python -m luma_mcp` over stdio."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp_types import TextContent

from luma_mcp.tools.arguments import GenerateImageArgs

pytestmark = pytest.mark.anyio

SECRET = "luma-api-stdio-secret-0123456789"


def server_params(tmp_path: Path, *args: str, key: str | None = None) -> StdioServerParameters:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "LUMA_MCP_OUTPUT_DIR": str(tmp_path / "images"),
        "LUMA_MCP_LOG_LEVEL": "DEBUG",
    }
    if key:
        env["LUMA_AGENTS_API_KEY"] = key
    return StdioServerParameters(command=sys.executable, args=["-m", "luma_mcp", *args], env=env)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_client_over_stdio_lists_generates_and_fetches(tmp_path: Path, mode: str) -> None:
    # --wait-seconds 0: the call hands off at once, so the test never waits on real time.
    params = server_params(tmp_path, "--emulator", "--emulator-latency", "0", "--wait-seconds", "0")
    async with Client(params, mode=mode) as client:  # pyright: ignore[reportArgumentType]
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert tools["generate_image"].input_schema == GenerateImageArgs.model_json_schema()
        queued = await client.call_tool("generate_image", {"prompt": "a fox over stdio"})
        assert queued.structured_content is not None
        assert queued.structured_content["state"] == "queued"
        fetched = await client.call_tool(
            "get_generation", {"generation_id": queued.structured_content["generation_id"]}
        )
    assert fetched.structured_content is not None
    [output] = fetched.structured_content["outputs"]
    assert Path(output["path"]).parent == tmp_path / "images"
    assert Path(output["path"]).stat().st_size == output["size_bytes"]


async def test_without_a_key_it_starts_lists_and_explains(tmp_path: Path) -> None:
    async with Client(server_params(tmp_path)) as client:
        assert len((await client.list_tools()).tools) == 5
        result = await client.call_tool("generate_image", {"prompt": "x"})
    assert result.is_error
    text = "".join(b.text for b in result.content if isinstance(b, TextContent))
    assert "LUMA_AGENTS_API_KEY" in text
    assert "--emulator" in text


def _rpc(message_id: int, method: str, params: dict[str, Any]) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": message_id, "method": method, "params": params})


def test_stdout_carries_only_json_rpc_and_the_key_appears_nowhere(tmp_path: Path) -> None:
    """A raw session: every stdout line must parse as JSON-RPC; the key must not be in any output."""
    params = server_params(tmp_path, "--emulator", "--emulator-latency", "0", "--wait-seconds", "0", key=SECRET)
    initialize = {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw-test", "version": "0"},
    }
    lines = [
        _rpc(1, "initialize", initialize),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        _rpc(2, "tools/list", {}),
        _rpc(3, "tools/call", {"name": "generate_image", "arguments": {"prompt": "raw"}}),
        _rpc(4, "tools/call", {"name": "get_generation", "arguments": {"generation_id": "nope"}}),
        _rpc(5, "tools/call", {"name": "no_such_tool", "arguments": {}}),
    ]
    with subprocess.Popen(
        [params.command, *params.args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=params.env,
    ) as process:
        watchdog = threading.Timer(60, process.kill)  # a hung server fails the test instead of hanging it
        watchdog.start()
        try:
            assert process.stdin is not None
            assert process.stdout is not None
            assert process.stderr is not None
            process.stdin.write("\n".join(lines) + "\n")
            process.stdin.flush()
            stdout: list[str] = []
            answered: set[int] = set()
            while answered != {1, 2, 3, 4, 5}:
                line = process.stdout.readline()
                assert line, "the server closed stdout before answering everything"
                stdout.append(line)
                answered.add(json.loads(line).get("id", 0))  # json.loads raises on any stray output
            process.stdin.close()  # EOF: the server exits
            stdout.extend(process.stdout.readlines())
            stderr = process.stderr.read()
            assert process.wait(timeout=10) == 0
        finally:
            watchdog.cancel()
    assert all(json.loads(line)["jsonrpc"] == "2.0" for line in stdout)
    assert SECRET not in "".join(stdout)
    assert SECRET not in stderr
    assert "POST /generations → 201" in stderr  # the log is on stderr, at the level asked
    assert "Traceback" not in stderr
