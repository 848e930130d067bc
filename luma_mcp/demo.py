"""`luma-agents-mcp demo`: what an MCP client sees. It spawns this server over stdio with the
embedded emulator, lists the tools, calls generate_image with progress, and prints what came back."""

from __future__ import annotations

import base64
import os
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult, ImageContent, TextContent

from .tools.result_models import GenerationResult

DEMO_LATENCY = "4"
"""Seconds the emulated job takes: long enough to see progress, short enough not to bore."""


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.0f} kB"


def _describe(result: CallToolResult, out: TextIO) -> None:
    if result.structured_content is None:
        out.write("  (no structured result)\n")
    else:
        data = GenerationResult.model_validate(result.structured_content)
        out.write(f"  state       {data.state}{'  (tool error)' if result.is_error else ''}\n")
        out.write(f"  generation  {data.generation_id}\n")
        for output in data.outputs:
            out.write(
                f"  image       {output.width}×{output.height} {output.media_type}, {_size(output.size_bytes or 0)}\n"
            )
            out.write(f"  saved to    {output.path}\n")
            out.write(f"  download    {output.url}\n              (expires {output.url_expires_at})\n")
    for block in result.content:
        if isinstance(block, ImageContent):
            size = _size(len(base64.b64decode(block.data)))
            out.write(f"  preview     {block.mime_type}, {size} inline for the model\n")
    texts = [b.text for b in result.content if isinstance(b, TextContent)]
    if texts:
        out.write("\nWhat the model reads:\n  " + texts[0].replace("\n", "\n  ") + "\n")


async def run_demo(prompt: str, server_flags: Sequence[str] = (), out: TextIO = sys.stdout) -> int:
    env = {k: v for k, v in os.environ.items() if k != "LUMA_AGENTS_API_KEY"}
    params = StdioServerParameters(
        command=sys.executable,
        # The server's own log would interleave with this output: only warnings, unless asked.
        args=[
            "-m",
            "luma_mcp",
            "--emulator",
            "--emulator-latency",
            DEMO_LATENCY,
            "--log-level",
            "WARNING",
            *server_flags,
        ],
        env=env,
    )
    out.write(f"Starting `{sys.executable} -m luma_mcp --emulator` over stdio, as an MCP client would.\n")
    started = time.perf_counter()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        out.write(f"  … {message or ''} ({progress:.0f}/{total or 0:.0f})\n")
        out.flush()

    try:
        async with Client(params) as client:
            connected = time.perf_counter()
            tools = (await client.list_tools()).tools
            listed = time.perf_counter()
            out.write(f"Connected in {connected - started:.2f} s; {len(tools)} tools in {listed - connected:.3f} s:\n")
            for tool in tools:
                out.write(f"  {tool.name:<20} {tool.title}\n")
            out.write(f"\nCalling generate_image with prompt {prompt!r}\n")
            out.flush()
            result = await client.call_tool(
                "generate_image", {"prompt": prompt, "aspect_ratio": "16:9"}, progress_callback=on_progress
            )
            finished = time.perf_counter()
    except Exception as exc:  # noqa: BLE001 - the demo reports any failure in one line; the server's log is above
        out.write(f"The demo failed: {type(exc).__name__}: {exc}. The server's log (stderr) is above.\n")
        return 1
    out.write(f"Done in {finished - listed:.1f} s (emulated job: {DEMO_LATENCY} s).\n")
    _describe(result, out)
    return 1 if result.is_error else 0
