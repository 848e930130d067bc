"""Start-up cost: spawn → `tools/list` answered, for this server and for a bare MCPServer.

Hosts spawn MCP servers often (per session, per window), so start-up time is a feature. The bare
server has one tool and imports nothing but the SDK; the ratio says what this project adds.

    uv run python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

BARE_SERVER = """
from mcp.server import MCPServer

server = MCPServer("bare")


@server.tool()
def echo(text: str) -> str:
    return text


server.run()
"""


async def time_to_tools(params: StdioServerParameters) -> float:
    started = time.perf_counter()
    async with Client(params) as client:
        await client.list_tools()
        return time.perf_counter() - started


async def main(runs: int) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", ""), "LUMA_MCP_LOG_LEVEL": "WARNING"}
    with tempfile.TemporaryDirectory() as folder:
        bare_script = Path(folder) / "bare_server.py"
        bare_script.write_text(BARE_SERVER)
        ours = StdioServerParameters(command=sys.executable, args=["-m", "luma_mcp"], env=env)
        bare = StdioServerParameters(command=sys.executable, args=[str(bare_script)], env=env)
        await time_to_tools(ours)  # warm the file cache and bytecode for both
        await time_to_tools(bare)
        ours_times: list[float] = []
        bare_times: list[float] = []
        for _ in range(runs):  # in turns, so drift on the machine hits both alike
            ours_times.append(await time_to_tools(ours))
            bare_times.append(await time_to_tools(bare))
    ours_median, bare_median = statistics.median(ours_times), statistics.median(bare_times)
    print(f"runs per server:          {runs}")
    print(f"luma-agents-mcp median:   {ours_median * 1000:7.1f} ms  (min {min(ours_times) * 1000:.1f})")
    print(f"bare MCPServer median:    {bare_median * 1000:7.1f} ms  (min {min(bare_times) * 1000:.1f})")
    print(f"ratio (goal <= 1.10):     {ours_median / bare_median:7.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Start-up cost of this server against a bare MCPServer.")
    parser.add_argument("--runs", type=int, default=15)
    anyio.run(main, parser.parse_args().runs)
