"""generate_image → completed: structured result, preview, links, and the file on disk."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path

import pytest
from mcp import Client
from mcp_types import ImageContent, ResourceLink, TextContent
from PIL import Image

from luma_mcp.emulator import Emulator

from ..support.servers import blocks, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


async def test_generate_returns_the_image_every_way_an_agent_needs_it(
    client: Client, emulator: Emulator, output_dir: Path
) -> None:
    result = await client.call_tool(
        "generate_image", {"prompt": "A red fox in fresh snow", "aspect_ratio": "16:9", "output_format": "png"}
    )
    assert not result.is_error, result.content
    data = structured(result)
    assert (data["state"], data["model"], data["type"]) == ("completed", "uni-1", "image")
    assert data["prompt"] == "A red fox in fresh snow"
    [output] = data["outputs"]
    assert (output["width"], output["height"], output["media_type"]) == (128, 80, "image/png")

    # The file on disk is exactly what the API served.
    path = Path(output["path"])
    assert path.parent == output_dir
    assert path.name.endswith(f"_{data['generation_id'][:8]}_1.png")
    expected = await emulator.output_bytes(data["generation_id"])
    assert path.read_bytes() == expected
    assert output["size_bytes"] == len(expected)

    # A preview the model can see, JPEG and small.
    [preview] = blocks(result, ImageContent)
    assert preview.mime_type == "image/jpeg"
    image = Image.open(io.BytesIO(base64.b64decode(preview.data)))
    assert image.size == (128, 80)

    # Links to the saved file and to the download URL.
    links = {link.uri: link for link in blocks(result, ResourceLink)}
    assert path.as_uri() in links
    assert output["url"] in links
    assert output["url_expires_at"].endswith("Z")

    # The text says what happened and repeats the structured result.
    texts = [b.text for b in blocks(result, TextContent)]
    assert str(path) in texts[0]
    assert json.loads(texts[1])["generation_id"] == data["generation_id"]
    assert "base64" not in json.dumps(data)


async def test_the_request_sent_is_the_arguments_given(client: Client, emulator: Emulator) -> None:
    await client.call_tool(
        "generate_image",
        {"prompt": "a cat", "model": "uni-1-max", "aspect_ratio": "2:3", "style": "manga", "web_search": True},
    )
    [create] = emulator.requests_to("create")
    assert create.body == {
        "prompt": "a cat",
        "model": "uni-1-max",
        "type": "image",
        "aspect_ratio": "2:3",
        "style": "manga",
        "web_search": True,
    }


async def test_the_api_key_never_reaches_the_storage_host(client: Client, emulator: Emulator) -> None:
    await client.call_tool("generate_image", {"prompt": "a cat"})
    downloads = emulator.requests_to("download")
    assert downloads
    assert not any(r.authorization_sent for r in downloads)
    assert all(r.authorization_sent for r in emulator.requests_to("create") + emulator.requests_to("get"))


async def test_each_attempt_carries_a_fresh_request_id(client: Client, emulator: Emulator) -> None:
    await client.call_tool("generate_image", {"prompt": "a cat"})
    ids = [r.request_id for r in emulator.requests if r.route in ("create", "get")]
    assert len(ids) >= 2
    assert len(set(ids)) == len(ids)


async def test_progress_is_reported_while_waiting(client: Client) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    result = await client.call_tool("generate_image", {"prompt": "a cat"}, progress_callback=on_progress)
    assert not result.is_error
    values = [p for p, _, _ in seen]
    assert len(values) >= 5  # a 30 s job polled every 2 s
    assert values == sorted(values)
    assert len(set(values)) == len(values)
    assert all(total == 35 for _, total, _ in seen)
    assert any("Processing" in (m or "") for _, _, m in seen)


async def test_get_generation_does_not_save_a_second_copy(client: Client, emulator: Emulator, output_dir: Path) -> None:
    first = structured(await client.call_tool("generate_image", {"prompt": "a cat"}))
    emulator.clock.advance(10)
    again = await client.call_tool("get_generation", {"generation_id": first["generation_id"]})
    assert not again.is_error
    assert structured(again)["outputs"][0]["path"] == first["outputs"][0]["path"]
    assert structured(again)["outputs"][0]["url"] != first["outputs"][0]["url"]  # a fresh link
    assert len(list(output_dir.glob("*.png"))) == 1
    assert len(emulator.requests_to("download")) == 1


async def test_saved_bytes_hash_matches(client: Client, emulator: Emulator) -> None:
    data = structured(await client.call_tool("generate_image", {"prompt": "a cat", "output_format": "jpeg"}))
    path = Path(data["outputs"][0]["path"])
    assert path.suffix == ".jpg"
    digest = hashlib.sha256(await emulator.output_bytes(data["generation_id"])).hexdigest()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
