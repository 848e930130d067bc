"""Separate processes, for tests that need a real process or real sockets: the emulator, and this
server over stdio or Streamable HTTP. Every read of a child's output goes through `Lines`, which
times out, so a child that hangs fails the test instead of hanging the suite."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio
import httpx

READ_SECONDS = 30.0
"""How long a read of a child's output may wait, unless the caller says otherwise."""


class Lines:
    """A process's output stream read by a thread, line by line, so that reads can time out."""

    def __init__(self, process: subprocess.Popen[str], stream: IO[str]) -> None:
        self._process = process
        self._stream = stream
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._ended = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for line in self._stream:
                self._queue.put(line)
        finally:
            self._queue.put(None)  # the end of the stream

    def next(self, deadline: float, what: str) -> str:
        """The next line, or "" once the stream has ended (as `readline` says it); `what` names
        the line awaited in the TimeoutError raised if none comes by `deadline` (a monotonic time)."""
        if self._ended:
            return ""
        try:
            line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError(f"{what} (exit code {self._process.poll()})") from None
        if line is None:
            self._ended = True
            return ""
        return line

    def rest(self, seconds: float = READ_SECONDS) -> list[str]:
        """Every line left, up to the end of the stream (the process has closed it, or exited)."""
        deadline = time.monotonic() + seconds
        lines: list[str] = []
        while line := self.next(deadline, "the stream did not end"):
            lines.append(line)
        return lines

    def close(self) -> None:
        """Once the process is gone: the thread sees EOF."""
        self._reader.join(timeout=10)
        self._stream.close()


@dataclass
class Child:
    """A process started by `child`, its piped output read through `Lines`."""

    process: subprocess.Popen[str]
    stdout: Lines | None
    stderr: Lines | None


@contextmanager
def child(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    stdin: int | None = None,
    stdout: int | None = subprocess.PIPE,
    stderr: int | None = subprocess.PIPE,
    terminate_first: bool = False,
) -> Iterator[Child]:
    """`args` run until the block ends, then ended if still running: killed, or with
    `terminate_first` sent SIGTERM and given 15 s before the kill. Piped output is read by `Lines`."""
    process = subprocess.Popen(args, stdin=stdin, stdout=stdout, stderr=stderr, text=True, env=env)
    out = Lines(process, process.stdout) if process.stdout else None
    err = Lines(process, process.stderr) if process.stderr else None
    try:
        yield Child(process, out, err)
    finally:
        if process.poll() is None:
            if terminate_first:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
            else:
                process.kill()
        process.wait()
        if process.stdin:
            process.stdin.close()
        for lines in (out, err):
            if lines:
                lines.close()


@dataclass
class Standalone:
    child: Child
    base_url: str
    key: str
    admin_token: str | None = None

    @property
    def process(self) -> subprocess.Popen[str]:
        return self.child.process

    @property
    def _admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}

    def admin(self, action: str, **payload: object) -> None:
        url = f"{self.base_url.removesuffix('/v1')}/_emulator/{action}"
        httpx.post(url, json=payload, headers=self._admin_headers).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        """The emulator's request log."""
        url = f"{self.base_url.removesuffix('/v1')}/_emulator/requests"
        return httpx.get(url, headers=self._admin_headers).json()

    async def until_requested(self, route: str, count: int = 1, seconds: float = 20) -> None:
        """Until the emulator has logged `count` requests on `route` (a server in another process
        has got that far: its log is all there is to watch)."""
        with anyio.fail_after(seconds):
            while len([r for r in self.requests() if r["route"] == route]) < count:  # noqa: ASYNC110
                await anyio.sleep(0.05)

    def server_environment(self, home: Path) -> dict[str, str]:
        """The environment of a server of ours that talks to this emulator, with `home` as its HOME
        and its images below it, logging warnings only."""
        return {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "LUMA_BASE_URL": self.base_url,
            "LUMA_AGENTS_API_KEY": self.key,
            "LUMA_MCP_OUTPUT_DIR": str(home / "images"),
            "LUMA_MCP_LOG_LEVEL": "WARNING",
        }


def _read_banner(lines: Lines, timeout: float) -> dict[str, str]:
    """The NAME=value lines the emulator prints once it listens."""
    values: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while "LUMA_AGENTS_API_KEY" not in values:
        line = lines.next(deadline, "the emulator printed no base URL")
        if not line:
            raise EOFError("the emulator exited before it printed its base URL")
        name, _, value = line.strip().partition("=")
        values[name] = value
    return values


def without_admin_token(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment minus any admin token of the caller's own, so each test sets its own."""
    return {name: value for name, value in environ.items() if name != "LUMA_EMULATOR_ADMIN_TOKEN"}


@contextmanager
def standalone_emulator(*args: str, admin_token: str | None = None) -> Iterator[Standalone]:
    """`luma-agents-mcp emulator --port 0 <args>` until the block ends; `admin_token`, if given,
    is set as LUMA_EMULATOR_ADMIN_TOKEN and sent by `admin` and `requests`."""
    token_env = {"LUMA_EMULATOR_ADMIN_TOKEN": admin_token} if admin_token else {}
    with child(
        [sys.executable, "-m", "luma_mcp", "emulator", "--port", "0", *args],
        env={**without_admin_token(os.environ), "PYTHONUNBUFFERED": "1", **token_env},
    ) as running:
        assert running.stdout is not None
        banner = _read_banner(running.stdout, timeout=30)
        yield Standalone(running, banner["LUMA_BASE_URL"], banner["LUMA_AGENTS_API_KEY"], admin_token)


def listening_url(lines: Lines, timeout: float = 30) -> str:
    """The base URL in uvicorn's log line once the server listens."""
    deadline = time.monotonic() + timeout
    while True:
        line = lines.next(deadline, "the server did not start")
        if not line:
            raise EOFError("the server exited before it listened")
        if "Uvicorn running on " in line:
            return line.split("Uvicorn running on ", 1)[1].split()[0]


def http_server_args(*args: str) -> list[str]:
    """`python -m luma_mcp --transport http --port 0 <args>`, logging at INFO (its URL is read there)."""
    return [sys.executable, "-m", "luma_mcp", "--transport", "http", "--port", "0", "--log-level", "INFO", *args]


@contextmanager
def http_server(*args: str, env: dict[str, str]) -> Iterator[str]:
    """`python -m luma_mcp --transport http --port 0 <args>` until the block ends (then SIGTERM);
    yields its base URL, read from uvicorn's log line once it listens."""
    with child(
        http_server_args(*args),
        env={"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1", **env},
        stdout=subprocess.DEVNULL,
        terminate_first=True,
    ) as running:
        assert running.stderr is not None
        yield listening_url(running.stderr)


@dataclass
class StdioServer:
    """This server over stdio in a child process, spoken to in plain JSON-RPC (a call can be left
    unanswered, and the process killed under it); its log on stderr, at INFO."""

    child: Child
    _ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 1_000_000)))

    def send(self, method: str, params: dict[str, Any], *, notify: bool = False) -> int:
        assert self.child.process.stdin is not None
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        number = 0 if notify else next(self._ids)
        if not notify:
            message["id"] = number
        self.child.process.stdin.write(json.dumps(message) + "\n")
        self.child.process.stdin.flush()
        return number

    def answer(self, number: int, seconds: float = READ_SECONDS) -> dict[str, Any]:
        """The result of request `number` (notifications and other answers in between are skipped)."""
        assert self.child.stdout is not None
        deadline = time.monotonic() + seconds
        while True:
            line = self.child.stdout.next(deadline, f"no answer to request {number}")
            if not line:
                raise EOFError(f"the server exited before answering request {number}")
            message = json.loads(line)
            if message.get("id") == number:
                assert "result" in message, message
                return message["result"]

    def call(self, tool: str, arguments: dict[str, Any]) -> int:
        """Start a tool call; its answer comes from `answer`."""
        return self.send("tools/call", {"name": tool, "arguments": arguments})

    def tool(self, tool: str, arguments: dict[str, Any], seconds: float = READ_SECONDS) -> dict[str, Any]:
        """A tool call's result (its structured content, `is_error` and its `text`)."""
        result = self.answer(self.call(tool, arguments), seconds)
        return {**(result.get("structuredContent") or {}), "is_error": result.get("isError", False),
                "text": "".join(block.get("text", "") for block in result["content"])}  # fmt: skip

    def until_logged(self, words: str, seconds: float = READ_SECONDS) -> str:
        """The first line of its log, from now on, that holds `words`."""
        assert self.child.stderr is not None
        deadline = time.monotonic() + seconds
        while words not in (line := self.child.stderr.next(deadline, f"no log line with {words!r}")):
            if not line:
                raise EOFError(f"the server exited before it logged {words!r}")
        return line

    def kill(self) -> None:
        """`kill -9`: no clean-up of any kind."""
        self.child.process.kill()
        self.child.process.wait()


@contextmanager
def stdio_server(env: Mapping[str, str], command: Sequence[str] = ("-m", "luma_mcp")) -> Iterator[StdioServer]:
    """`python -m luma_mcp` (or `python <command>`) over stdio with `env` (and PATH), initialized (the
    2025-11-25 handshake)."""
    with child(
        [sys.executable, *command, "--log-level", "INFO"],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1", **env},
        stdin=subprocess.PIPE,
    ) as running:
        server = StdioServer(running)
        client = {"name": "tests", "version": "0"}
        server.answer(
            server.send("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": client})
        )
        server.send("notifications/initialized", {}, notify=True)
        yield server
