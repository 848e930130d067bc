"""Separate processes on real ports, for tests that need real sockets: the emulator, and this
server over Streamable HTTP."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import httpx


@dataclass
class Standalone:
    process: subprocess.Popen[str]
    base_url: str
    key: str
    admin_token: str | None = None

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


class _Lines:
    """A process's output stream read by a thread, line by line, so that reads can time out."""

    def __init__(self, process: subprocess.Popen[str], stream: IO[str]) -> None:
        self._process = process
        self._stream = stream
        self._queue: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=lambda: [self._queue.put(line) for line in stream], daemon=True)
        self._reader.start()

    def next(self, deadline: float, what: str) -> str:
        try:
            return self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError(f"{what} (exit code {self._process.poll()})") from None

    def close(self) -> None:
        """Once the process is gone: the thread sees EOF."""
        self._reader.join(timeout=10)
        self._stream.close()


def _read_banner(lines: _Lines, timeout: float) -> dict[str, str]:
    """The NAME=value lines the emulator prints once it listens."""
    values: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while "LUMA_AGENTS_API_KEY" not in values:
        name, _, value = lines.next(deadline, "the emulator printed no base URL").strip().partition("=")
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
    process = subprocess.Popen(
        [sys.executable, "-m", "luma_mcp", "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**without_admin_token(os.environ), "PYTHONUNBUFFERED": "1", **token_env},
    )
    assert process.stdout is not None
    lines = _Lines(process, process.stdout)
    try:
        banner = _read_banner(lines, timeout=30)
        yield Standalone(process, banner["LUMA_BASE_URL"], banner["LUMA_AGENTS_API_KEY"], admin_token)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        lines.close()
        if process.stderr:
            process.stderr.close()


@contextmanager
def http_server(*args: str, env: dict[str, str]) -> Iterator[str]:
    """`python -m luma_mcp --transport http --port 0 <args>` until the block ends (then SIGTERM);
    yields its base URL, read from uvicorn's log line once it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "luma_mcp", "--transport", "http", "--port", "0", "--log-level", "INFO", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1", **env},
    )
    assert process.stderr is not None
    lines = _Lines(process, process.stderr)
    try:
        deadline = time.monotonic() + 30
        while True:
            line = lines.next(deadline, "the server did not start")
            if "Uvicorn running on " in line:
                yield line.split("Uvicorn running on ", 1)[1].split()[0]
                break
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        lines.close()
