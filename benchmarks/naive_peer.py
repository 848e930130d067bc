"""The naive peer: the MCP server a user would write in an afternoon instead of this one, on the same
SDK and HTTP library, for the benchmarks to compare with. It creates the job, looks every 2 s (our
schedule with its random first-look spread set to 0), downloads the image and returns it whole, as
base64 in the result. No saving, no preview, no dedupe, no deadline.

    LUMA_BASE_URL=http://127.0.0.1:4010/v1 LUMA_AGENTS_API_KEY=luma-api-... python benchmarks/naive_peer.py
"""

from __future__ import annotations

import logging
import os
from typing import Any

import anyio
import httpx2
from mcp.server import MCPServer
from mcp.server.mcpserver import Image

POLL_SECONDS = 2.0

server = MCPServer("naive-luma")
clients: dict[str, httpx2.AsyncClient] = {}


def http(name: str, **options: Any) -> httpx2.AsyncClient:
    """One client for the API, one for storage (which must not see the key), opened on first use."""
    if name not in clients:
        clients[name] = httpx2.AsyncClient(timeout=60, **options)
    return clients[name]


@server.tool(structured_output=False)
async def generate_image(prompt: str, aspect_ratio: str = "1:1", output_format: str = "png") -> list[Any]:
    """Generate an image with Luma's uni-1 from a prompt."""
    api = http(
        "api",
        base_url=os.environ.get("LUMA_BASE_URL", "https://agents.lumalabs.ai/v1"),
        headers={"Authorization": f"Bearer {os.environ['LUMA_AGENTS_API_KEY']}"},
    )
    body = {"prompt": prompt, "aspect_ratio": aspect_ratio, "output_format": output_format}
    job = (await api.post("/generations", json=body)).raise_for_status().json()
    while job["state"] not in ("completed", "failed"):
        await anyio.sleep(POLL_SECONDS)
        job = (await api.get(f"/generations/{job['id']}")).raise_for_status().json()
    if job["state"] == "failed":
        raise RuntimeError(f"generation failed: {job['failure_reason']}")
    image = (await http("storage").get(job["output"][0]["url"])).raise_for_status()
    return [f"Generated {job['id']}", Image(data=image.content, format=output_format)]


if __name__ == "__main__":
    logging.disable(logging.INFO)  # as ours runs in the benchmarks: warnings only
    server.run()
