"""What a tool returns: the image every way an agent needs it, a failure's code and next step,
and the links where no files are kept."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import pytest
from mcp import Client
from mcp_types import ImageContent, ResourceLink, TextContent
from PIL import Image

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator

from ..support.servers import blocks, make_server, structured

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


async def test_a_failed_generation_reports_its_code_and_whether_to_retry(client: Client, emulator: Emulator) -> None:
    emulator.fail_next("content_moderated")
    result = await client.call_tool("generate_image", {"prompt": "something"})
    assert result.is_error  # the image the call was for did not come
    data = structured(result)
    assert (data["state"], data["failure_code"], data["retryable"]) == ("failed", "content_moderated", False)
    assert data["failure_reason"]
    assert "rephrase" in data["next_step"].lower()
    assert "content_moderated" in blocks(result, TextContent)[0].text

    looked = await client.call_tool("get_generation", {"generation_id": data["generation_id"]})
    assert not looked.is_error  # reporting a failure is what the lookup is for
    assert structured(looked)["failure_code"] == "content_moderated"


async def test_a_transient_failure_says_retrying_may_help(client: Client, emulator: Emulator) -> None:
    emulator.fail_next("generation_failed")
    data = structured(await client.call_tool("generate_image", {"prompt": "something"}))
    assert data["retryable"] is True
    assert "again" in data["next_step"]


async def test_where_no_files_are_kept_the_text_gives_the_links(emulator: Emulator, output_dir: Path) -> None:
    from ..support.samples import KEY

    settings = Settings(api_key=KEY, base_url=emulator.base_url, output_dir=output_dir, save_outputs=False)  # type: ignore[arg-type]
    async with Client(make_server(settings, emulator)) as client:
        for preview in ("auto", "none"):
            result = await client.call_tool("generate_image", {"prompt": f"a fox, {preview}", "preview": preview})
            text = result.content[0].text  # type: ignore[union-attr]
            assert "not saved" not in text
            assert re.search(r"Image 1: download it from http\S+ \(it works until 20\d\d-", text), text
    assert not list(output_dir.glob("*.png"))


@pytest.mark.parametrize("embedded", [True, False], ids=["--emulator", "an API on the network"])
async def test_the_embedded_emulators_links_are_said_to_work_only_inside_the_server(
    settings: Settings, emulator: Emulator, embedded: bool
) -> None:
    server = make_server(settings.model_copy(update={"emulator": embedded}), emulator)
    async with Client(server) as client:
        result = await client.call_tool("generate_image", {"prompt": "a fox", "output_format": "png"})
    data = structured(result)
    [output] = data["outputs"]
    note = (
        "The download link is the embedded emulator's and works only inside this server (--emulator): use the "
        f"saved file or its luma:// resource: {output['path']} (luma://generations/{data['generation_id']}/images/0.png)."
    )
    [link] = [block for block in blocks(result, ResourceLink) if block.uri == output["url"]]
    if embedded:
        assert note in data["warnings"]
        assert f"Warning: {note}" in blocks(result, TextContent)[0].text
        assert link.title == "The embedded emulator's link (works only inside this server)"
        assert link.description is not None
        assert "luma:// resource" in link.description
    else:
        assert data["warnings"] == []
        assert link.title is not None
        assert link.title.startswith("Download link (expires ")
