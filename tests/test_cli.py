"""The real process, as MCP clients launch it: `python -m luma_mcp` over stdio."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp_types import TextContent

from luma_mcp import __version__
from luma_mcp.cli import main
from luma_mcp.emulator import fingerprint
from luma_mcp.tools.arguments import GenerateImageArgs

from .support.processes import READ_SECONDS, Child, child, standalone_emulator

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

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
        assert len((await client.list_tools()).tools) == 8
        result = await client.call_tool("generate_image", {"prompt": "x"})
    assert result.is_error
    text = "".join(b.text for b in result.content if isinstance(b, TextContent))
    assert "LUMA_AGENTS_API_KEY" in text
    assert "--emulator" in text


class RawSession:
    """A server process spoken to in raw JSON-RPC lines, so that any stray byte on stdout shows."""

    def __init__(self, server: Child) -> None:
        assert server.process.stdin is not None
        assert server.stdout is not None
        self.process, self.stdin, self.stdout = server.process, server.process.stdin, server.stdout
        self.lines: list[str] = []
        self._next_id = 0

    def notify(self, method: str) -> None:
        self.stdin.write(json.dumps({"jsonrpc": "2.0", "method": method}) + "\n")
        self.stdin.flush()

    def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        message = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        self.stdin.write(json.dumps(message) + "\n")
        self.stdin.flush()
        deadline = time.monotonic() + READ_SECONDS
        while True:
            line = self.stdout.next(deadline, f"no answer to {method}")
            assert line, "the server closed stdout before answering"
            self.lines.append(line)
            answer = json.loads(line)  # raises on any stray output
            assert answer["jsonrpc"] == "2.0"
            if answer.get("id") == self._next_id:
                return answer

    def tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return self.call("tools/call", {"name": name, "arguments": arguments})["result"]


def test_stdout_carries_only_json_rpc_and_the_key_appears_nowhere(tmp_path: Path) -> None:
    """A real key through every path, error paths included, against the emulator on a real port:
    the key reaches the API (by its fingerprint in the emulator's log) and appears in no output."""
    with standalone_emulator("--latency", "0", "--long-edge", "128") as api:
        params = server_params(tmp_path, "--wait-seconds", "0", key=SECRET)
        env = {**(params.env or {}), "LUMA_BASE_URL": api.base_url}
        with child([params.command, *params.args], env=env, stdin=subprocess.PIPE) as server:
            session = RawSession(server)
            initialize = {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            }
            session.call("initialize", initialize)
            session.notify("notifications/initialized")
            assert len(session.call("tools/list", {})["result"]["tools"]) == 8
            queued = session.tool("generate_image", {"prompt": "raw"})["structuredContent"]
            done = session.tool("get_generation", {"generation_id": queued["generation_id"]})
            assert done["structuredContent"]["state"] == "completed"
            api.admin("faults", route="create", kind="status", status=502, created=True)
            assert session.tool("generate_image", {"prompt": "unknown outcome"})["isError"]
            api.admin("faults", route="get", kind="drop")
            assert not session.tool("get_generation", {"generation_id": queued["generation_id"]})["isError"]
            assert session.tool("get_generation", {"generation_id": "d290f1ee-6c54-4b01-90e6-d701748f0851"})["isError"]
            api.admin("keys", key=SECRET, state="revoked")
            revoked = session.tool("generate_image", {"prompt": "revoked"})
            assert revoked["isError"]
            assert "API key has been revoked" in revoked["content"][0]["text"]
            session.stdin.close()  # EOF: the server exits
            session.lines.extend(session.stdout.rest())
            stderr = "".join(server.stderr.rest()) if server.stderr else ""
            assert server.process.wait(timeout=10) == 0
        log = api.requests()
    assert all(json.loads(line)["jsonrpc"] == "2.0" for line in session.lines)
    assert {r["key_fingerprint"] for r in log if r["route"] in ("create", "get")} == {fingerprint(SECRET)}
    assert not any(r["authorization_sent"] for r in log if r["route"] == "download")
    for text in ("".join(session.lines), stderr, json.dumps(log)):
        assert SECRET not in text
    assert "POST /generations → 201" in stderr  # the log is on stderr, at the level asked
    assert "waiting for an MCP client" not in stderr  # said in a terminal only, never to a host
    assert "Traceback" not in stderr


@contextmanager
def _started_stdio_server(tmp_path: Path) -> Iterator[Child]:
    params = server_params(tmp_path, "--emulator", "--emulator-latency", "100")
    with child([params.command, *params.args], env=params.env or {}, stdin=subprocess.PIPE) as server:
        session = RawSession(server)
        client_info = {"name": "raw", "version": "0"}
        session.call("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": client_info})
        session.notify("notifications/initialized")
        # A call left waiting on a 100 s job, as a host would leave one when it quits.
        call = {"jsonrpc": "2.0", "id": 99, "method": "tools/call"}
        call["params"] = {"name": "generate_image", "arguments": {"prompt": "slow"}}
        session.stdin.write(json.dumps(call) + "\n")
        session.stdin.flush()
        assert server.stderr is not None
        deadline = time.monotonic() + READ_SECONDS
        while line := server.stderr.next(deadline, "the call never queued its job"):  # until it waits on it
            if "queued" in line:
                break
        yield server


@pytest.mark.parametrize("ending", ["stdin closed", "SIGTERM"])
def test_the_process_ends_within_a_second_without_a_traceback(tmp_path: Path, ending: str) -> None:
    with _started_stdio_server(tmp_path) as server:
        process = server.process
        assert process.stdin is not None
        assert server.stderr is not None
        started = time.monotonic()
        if ending == "SIGTERM":
            process.send_signal(signal.SIGTERM)
        else:
            process.stdin.close()
        code = process.wait(timeout=10)
        elapsed = time.monotonic() - started
        stderr = "".join(server.stderr.rest())
    assert elapsed < 1.0
    assert code in (0, -signal.SIGTERM)
    assert "Traceback" not in stderr


def test_in_a_terminal_it_says_in_one_line_what_it_waits_for_its_key_and_where_images_go(tmp_path: Path) -> None:
    params = server_params(tmp_path)
    terminal, its_side = os.openpty()
    try:
        with child([params.command, *params.args], env=params.env or {}, stdin=its_side) as server:
            assert server.stderr is not None
            line = server.stderr.next(time.monotonic() + READ_SECONDS, "no line on stderr")
    finally:
        os.close(terminal)
        os.close(its_side)
    assert line == (
        f"luma-agents-mcp {__version__}: waiting for an MCP client on stdin (add this command to your client's "
        "config; Ctrl-C quits). Account: no LUMA_AGENTS_API_KEY set (calls will say how; --emulator tries it "
        f"offline); images go to {tmp_path / 'images'}.\n"
    )


def test_version_and_the_demos_help_answer(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"luma-agents-mcp {__version__}\n"
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "prompt what to draw, in quotes (default: 'A red fox" in help_text
    assert "call generate_image with the prompt" in help_text


async def test_with_the_emulator_a_process_started_afterwards_edits_what_an_earlier_one_made(tmp_path: Path) -> None:
    """The README's Inspector recipe: each call a new process, on the same output folder."""
    params = server_params(tmp_path, "--emulator", "--emulator-latency", "0", "--wait-seconds", "0")
    async with Client(params) as first:
        queued = await first.call_tool("generate_image", {"prompt": "a fox, made in one process"})
        assert queued.structured_content is not None
        gid = queued.structured_content["generation_id"]
    async with Client(params) as second:
        edit = await second.call_tool("edit_image", {"prompt": "make it night", "source": {"generation_id": gid}})
        assert edit.structured_content is not None, edit.content
        edited = await second.call_tool("get_generation", {"generation_id": edit.structured_content["generation_id"]})
        looked = await second.call_tool("get_generation", {"generation_id": gid})
        listed = await second.call_tool("list_generations", {})
    assert edited.structured_content is not None
    assert edited.structured_content["state"] == "completed"
    [output] = edited.structured_content["outputs"]
    assert Path(output["path"]).is_file()
    assert listed.structured_content is not None
    states = {entry["generation_id"]: entry["state"] for entry in listed.structured_content["generations"]}
    assert states[gid] == "completed"  # the first job, known to the second process: not "queued" forever
    assert looked.structured_content is not None
    assert Path(looked.structured_content["outputs"][0]["path"]).is_file()
    # Its jobs are kept in the user's state folder, never among the pictures (which users sync).
    assert not (tmp_path / "images" / ".luma-agents").exists()
    assert list((tmp_path / ".local" / "state" / "luma-agents-mcp").glob("*.emulator/emulator.sqlite3"))
