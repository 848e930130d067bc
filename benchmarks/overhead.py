"""What a tool call costs on top of the HTTP it makes: `generate_image` in-process against the
emulator with zero latency (and waits that cost no time), against the same POST + GET + download
made raw with `httpx2` (the headline: the tool downloads too), and the raw POST + GET alone.
Prints p50/p95 of each.

    uv run python benchmarks/overhead.py [--calls 300]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import anyio
import httpx2
from _virtual import KEY, virtual_server
from mcp import Client
from mcp.server import MCPServer

from luma_mcp.emulator import Emulator, EmulatorConfig


def bare_server() -> MCPServer:
    server = MCPServer("bare")

    @server.tool()
    async def echo(text: str) -> str:  # pyright: ignore[reportUnusedFunction]
        return text

    return server


def quantiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=20)
    return statistics.median(samples) * 1000, cuts[18] * 1000


async def main(calls: int) -> None:
    emulator = Emulator(EmulatorConfig(latency=0, long_edge=64, rpm=10**6, concurrency=10**6))
    headers = {"Authorization": f"Bearer {KEY}"}
    raw: list[float] = []
    raw_download: list[float] = []
    # One client for the API and one for storage, kept open, as the server keeps its own.
    async with (
        httpx2.AsyncClient(transport=emulator.transport(), base_url=emulator.base_url, headers=headers) as http,
        httpx2.AsyncClient(transport=emulator.transport()) as storage,
    ):
        for i in range(calls + 20):
            started = time.perf_counter()
            created = (await http.post("/generations", json={"prompt": f"raw {i}", "output_format": "png"})).json()
            done = (await http.get(f"/generations/{created['id']}")).json()
            middle = time.perf_counter()
            await storage.get(done["output"][0]["url"])
            if i >= 20:  # the first calls warm caches
                raw.append(middle - started)
                raw_download.append(time.perf_counter() - started)
    tool: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        async with Client(virtual_server(emulator, Path(folder), preview="none")) as client:
            for i in range(calls + 20):
                arguments = {"prompt": f"tool {i}", "output_format": "png"}
                started = time.perf_counter()
                result = await client.call_tool("generate_image", arguments)
                if i >= 20:
                    tool.append(time.perf_counter() - started)
                assert not result.is_error, result.content
    bare: list[float] = []
    async with Client(bare_server()) as client:
        for i in range(calls + 20):
            started = time.perf_counter()
            await client.call_tool("echo", {"text": f"call {i}"})
            if i >= 20:
                bare.append(time.perf_counter() - started)
    rows = [
        ("raw POST + GET", raw),
        ("raw POST + GET + download", raw_download),
        ("bare MCPServer tool call", bare),
        ("generate_image (tool)", tool),
    ]
    print(f"{calls} calls each, emulator latency 0, 64-px PNG, preview none")
    for name, samples in rows:
        p50, p95 = quantiles(samples)
        print(f"{name:<28} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")
    tool50, raw50, download50, bare50 = (quantiles(s)[0] for s in (tool, raw, raw_download, bare))
    # Like with like: the tool downloads the image as well, so the raw requests must too.
    print(f"tool over raw POST + GET + download:   p50 {tool50 - download50:+.2f} ms (goal <= 3 ms)")
    print(f"of which the MCP round trip itself:    p50 {bare50:+.2f} ms (a bare SDK tool call)")
    print(f"(tool over raw POST + GET alone:       p50 {tool50 - raw50:+.2f} ms: the download is part of it)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Tool call overhead against raw HTTP.")
    parser.add_argument("--calls", type=int, default=300)
    anyio.run(main, parser.parse_args().calls)
