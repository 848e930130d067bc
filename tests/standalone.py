"""Separate processes on real ports, for tests that need real sockets: the emulator, and this
server over Streamable HTTP."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Standalone:
    process: subprocess.Popen[str]
    base_url: str
    key: str

    def admin(self, action: str, **payload: object) -> None:
        response = httpx.post(f"{self.base_url.removesuffix('/v1')}/_emulator/{action}", json=payload)
        response.raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        """The emulator's request log."""
        return httpx.get(f"{self.base_url.removesuffix('/v1')}/_emulator/requests").json()


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


@contextmanager
def standalone_emulator(*args: str) -> Iterator[Standalone]:
    """`luma-agents-mcp emulator --port 0 <args>` until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "luma_mcp", "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    reader = threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True)
    reader.start()
    try:
        banner = _read_banner(process, lines, timeout=30)
        yield Standalone(process, banner["LUMA_BASE_URL"], banner["LUMA_AGENTS_API_KEY"])
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
