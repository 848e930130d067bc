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
from typing import Any

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


def _read_banner(process: subprocess.Popen[str], lines: queue.Queue[str], timeout: float) -> dict[str, str]:
    """The NAME=value lines the emulator prints once it listens."""
    values: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while "LUMA_AGENTS_API_KEY" not in values:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError(f"the emulator printed no base URL (exit code {process.poll()})") from None
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
    process = subprocess.Popen(
        [sys.executable, "-m", "luma_mcp", "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**without_admin_token(os.environ), "PYTHONUNBUFFERED": "1", **token_env},
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    reader = threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True)
    reader.start()
    try:
        banner = _read_banner(process, lines, timeout=30)
        yield Standalone(process, banner["LUMA_BASE_URL"], banner["LUMA_AGENTS_API_KEY"], admin_token)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        reader.join(timeout=10)  # EOF once the process is gone
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


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
    lines: queue.Queue[str] = queue.Queue()
    assert process.stderr is not None
    stderr = process.stderr
    reader = threading.Thread(target=lambda: [lines.put(line) for line in stderr], daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"the server did not start (exit code {process.poll()})") from None
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
        reader.join(timeout=10)
        stderr.close()
