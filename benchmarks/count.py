"""Several candidates per call: the wall time of `generate_image` with `count=4` against one image,
over one stdio session, against the emulator on a real port. Calls alternate (one, four, one, …)
so the machine's drift hits both alike. Goal: four ≤ 1.2× one.

A set waits for its slowest member: each member's first look falls at a random 0–2 s offset (so
parallel waits do not poll in step), and the set sees its last image at the latest of four such
offsets, about 0.6 s after one call would on average. That share is part of what is measured.

    uv run python benchmarks/count.py [--pairs 7] [--latency 8] [--long-edge 2048]
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
from tests.support.processes import standalone_emulator

FORMAT = {"output_format": "jpeg", "aspect_ratio": "16:9"}


async def main(pairs: int, latency: float, long_edge: int) -> None:
    with (
        standalone_emulator(
            "--latency", str(latency), "--rpm", "100000", "--concurrency", "100000", "--long-edge", str(long_edge)
        ) as api,
        tempfile.TemporaryDirectory() as folder,
    ):
        env = api.server_environment(Path(folder))
        params = StdioServerParameters(command=sys.executable, args=["-m", "luma_mcp"], env=env)
        async with Client(params) as client:
            times: dict[int, list[float]] = {1: [], 4: []}
            for run in range(pairs):
                for count in (1, 4):
                    started = time.perf_counter()
                    result = await client.call_tool(
                        "generate_image", {"prompt": f"run {run} of {count}", "count": count, **FORMAT}
                    )
                    times[count].append(time.perf_counter() - started)
                    data = result.structured_content or {}
                    states = [m["state"] for m in data.get("generations", [])] or [data.get("state")]
                    assert states == ["completed"] * count, states
    one, four = statistics.median(times[1]), statistics.median(times[4])
    print(f"{long_edge}-px JPEG outputs, emulator job latency {latency:g} s, {pairs} alternating pairs")
    print(f"count=1:  median {one:.2f} s  (min {min(times[1]):.2f}, max {max(times[1]):.2f})")
    print(f"count=4:  median {four:.2f} s  (min {min(times[4]):.2f}, max {max(times[4]):.2f})")
    print(f"ratio (goal <= 1.2): {four / one:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Wall time of count=4 against one image.")
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--latency", type=float, default=8.0, help="seconds the emulator takes per job")
    parser.add_argument("--long-edge", type=int, default=2048, help="size of the emulator's images")
    arguments = parser.parse_args()
    anyio.run(main, arguments.pairs, arguments.latency, arguments.long_edge)
