"""Shared by the benchmarks that spawn servers over stdio: this server, the naive peer
(`naive_peer.py`) and a bare `MCPServer`, each with a temporary HOME of its own (the machine's own
history must not shape a figure). What a spawned server costs is read by `_process.py`."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from mcp import StdioServerParameters

HERE = Path(__file__).resolve().parent

BARE_SERVER = """
from mcp.server import MCPServer

server = MCPServer("bare")


@server.tool()
def echo(text: str) -> str:
    return text


server.run()
"""

OURS_EVEN_POLLS = (
    "import luma_mcp.api.client as client; client.FIRST_POLL_SPREAD = 0.0; "
    "from luma_mcp.cli import main; raise SystemExit(main())"
)
"""This server with its first look at a new job exactly `POLL_INTERVAL` after the create, as the
peer's: without it, each call's first look falls at a random 0–2 s offset (so that parallel waits
do not poll in step), and comparisons of wall times would measure that draw."""


def ours(*args: str) -> list[str]:
    return [sys.executable, "-m", "luma_mcp", *args]


def ours_even_polls() -> list[str]:
    return [sys.executable, "-c", OURS_EVEN_POLLS]


def peer() -> list[str]:
    return [sys.executable, str(HERE / "naive_peer.py")]


def bare(folder: Path) -> list[str]:
    script = folder / "bare_server.py"
    script.write_text(BARE_SERVER)
    return [sys.executable, str(script)]


def base_environment(home: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "LUMA_MCP_LOG_LEVEL": "WARNING", **extra}


def stdio(argv: list[str], env: dict[str, str], pid_file: Path | None = None) -> StdioServerParameters:
    """`argv` as an MCP client spawns it; with `pid_file`, through a shell that writes its pid there
    and then becomes the server, so the pid is the server's."""
    if pid_file is None:
        return StdioServerParameters(command=argv[0], args=argv[1:], env=env)
    command = f'echo $$ > "{pid_file}"; exec {shlex.join(argv)}'
    return StdioServerParameters(command="sh", args=["-c", command], env=env)
