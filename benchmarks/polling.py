"""How promptly a waiting call notices a finished job, and how many GETs it spends doing so.

Generations with completion times spread uniformly over 5–60 s run on the emulator's clock (no
real waiting); each is submitted with `generate_image` and waited on to the end. Detection delay is
the time from the job finishing to the GET that saw it; the GET rate counts every GET over the
time spent waiting. Goals: mean delay ≤ 1 s at ≤ 0.5 GET/s.

    uv run python benchmarks/polling.py [--jobs 300]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
from pathlib import Path

import anyio
from _virtual import virtual_server
from mcp import Client

from luma_mcp.emulator import Emulator, EmulatorConfig


async def main(jobs: int) -> None:
    emulator = Emulator(EmulatorConfig(long_edge=32, rpm=10**6, concurrency=10**6))
    rng = random.Random(11)
    latencies = [rng.uniform(5, 60) for _ in range(jobs)]
    delays: list[float] = []
    waited = 0.0
    with tempfile.TemporaryDirectory() as folder:
        async with Client(virtual_server(emulator, Path(folder), preview="none", wait_seconds=120)) as client:
            for i, latency in enumerate(latencies):
                emulator.script_next(latency=latency)
                created_at = emulator.clock.now()
                gets_before = len(emulator.requests_to("get"))
                result = await client.call_tool("generate_image", {"prompt": f"job {i}"})
                assert result.structured_content
                assert result.structured_content["state"] == "completed"
                seen_at = emulator.requests_to("get")[-1].at
                delays.append(seen_at - (created_at + latency))
                waited += seen_at - created_at
                assert len(emulator.requests_to("get")) > gets_before
    gets = len(emulator.requests_to("get"))
    cuts = statistics.quantiles(delays, n=20)
    print(f"{jobs} jobs finishing 5–60 s after submission (emulator clock)")
    print(f"detection delay: mean {statistics.mean(delays):.2f} s, p95 {cuts[18]:.2f} s, max {max(delays):.2f} s")
    print(f"GET rate while waiting: {gets / waited:.3f} GET/s ({gets} GETs over {waited:.0f} s)")
    print("goals: mean delay <= 1 s at <= 0.5 GET/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Completion detection delay and GET rate.")
    parser.add_argument("--jobs", type=int, default=300)
    anyio.run(main, parser.parse_args().jobs)
