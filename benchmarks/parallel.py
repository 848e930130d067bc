"""Many calls at once over one connection: 64 concurrent `generate_image` calls over one stdio
session, against the emulator on a real port with a 2 s job latency, compared with one call alone.
Prints both wall times, their ratio, and the server's peak RSS. Goals: ≤ 1.5× one call's wall
time, ≤ 150 MB RSS.

    uv run python benchmarks/parallel.py [--calls 64] [--long-edge 2048]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _process import cpu_seconds, memory_mb  # beside this script

from tests.support.processes import standalone_emulator

# 2048-px JPEGs: the emulator renders a JPEG in 40 ms and a noisy PNG in 400 ms, and with 64 jobs
# on two cores the emulator's rendering, not this server, would be what gets measured.
FORMAT = {"output_format": "jpeg", "aspect_ratio": "16:9"}


async def main(calls: int, long_edge: int, singles_count: int) -> None:
    with (
        standalone_emulator(
            "--latency", "2", "--rpm", "100000", "--concurrency", "100000", "--long-edge", str(long_edge)
        ) as api,
        tempfile.TemporaryDirectory() as folder,
    ):
        pid_file = Path(folder) / "server.pid"
        env = api.server_environment(Path(folder))
        # A shell that records its pid, then becomes the server: the pid is the server's.
        command = f'echo $$ > "{pid_file}"; exec "{sys.executable}" -m luma_mcp'
        params = StdioServerParameters(command="sh", args=["-c", command], env=env)
        async with Client(params) as client:
            singles: list[float] = []
            for i in range(singles_count):
                started = time.perf_counter()
                result = await client.call_tool("generate_image", {"prompt": f"alone {i}", **FORMAT})
                singles.append(time.perf_counter() - started)
                assert result.structured_content
                assert result.structured_content["state"] == "completed"
            states: list[str] = []

            async def one(i: int) -> None:
                result = await client.call_tool("generate_image", {"prompt": f"together {i}", **FORMAT})
                states.append((result.structured_content or {}).get("state", "error"))

            started = time.perf_counter()
            async with anyio.create_task_group() as group:
                for i in range(calls):
                    group.start_soon(one, i)
            together = time.perf_counter() - started
            pid = int(pid_file.read_text())
            peak, cpu = memory_mb(pid, "VmHWM"), cpu_seconds(pid)
    single = statistics.median(singles)
    print(f"{long_edge}-px JPEG outputs, emulator job latency 2 s, first poll after 2–4 s")
    print(f"one call alone:        {single:.2f} s (median of {singles_count})")
    print(f"{calls} calls at once:    {together:.2f} s, {states.count('completed')}/{calls} completed")
    print(f"ratio (goal <= 1.5):   {together / single:.2f}")
    print(f"server peak RSS:       {peak:.0f} MB (goal <= 150 MB)")
    print(f"server CPU, all calls: {cpu:.2f} s (the emulator, on the same cores, renders every image too)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Parallel tool calls over one stdio connection.")
    parser.add_argument("--calls", type=int, default=64)
    parser.add_argument("--long-edge", type=int, default=2048, help="size of the emulator's images")
    parser.add_argument("--singles", type=int, default=5, help="calls alone, for the median")
    arguments = parser.parse_args()
    anyio.run(main, arguments.calls, arguments.long_edge, arguments.singles)
