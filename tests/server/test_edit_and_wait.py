"""Chaining edits, handing off slow jobs, failed jobs, and missing keys."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from mcp import Client
from mcp_types import ImageContent, TextContent
from PIL import Image

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator

from ..support.samples import b64, png_bytes
from ..support.servers import blocks, make_server, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


async def test_edit_chains_off_a_generation_by_id(client: Client, emulator: Emulator) -> None:
    first = structured(await client.call_tool("generate_image", {"prompt": "a fox", "aspect_ratio": "16:9"}))
    edited = await client.call_tool(
        "edit_image", {"prompt": "make it night", "source": {"generation_id": first["generation_id"]}}
    )
    assert not edited.is_error, edited.content
    data = structured(edited)
    assert (data["state"], data["type"]) == ("completed", "image_edit")
    assert (data["outputs"][0]["width"], data["outputs"][0]["height"]) == (128, 80)  # the source's size
    create = emulator.requests_to("create")[-1]
    assert create.body["source"] == {"generation_id": first["generation_id"]}
    assert create.body["type"] == "image_edit"
    assert Path(data["outputs"][0]["path"]).read_bytes() == await emulator.output_bytes(data["generation_id"])


async def test_edit_takes_base64_and_data_uris(client: Client, emulator: Emulator) -> None:
    png = png_bytes((60, 40))
    for source in ({"data": b64(png), "media_type": "image/png"}, {"data": "data:image/png;base64," + b64(png)}):
        result = await client.call_tool("edit_image", {"prompt": "sepia", "source": source})
        assert not result.is_error, result.content
        assert structured(result)["outputs"][0]["width"] == 60
        assert emulator.requests_to("create")[-1].body["source"] == {"data": b64(png), "media_type": "image/png"}


async def test_a_slow_generation_is_handed_off_then_finished_by_wait(client: Client, emulator: Emulator) -> None:
    emulator.configure(latency=100)
    started = emulator.clock.now()
    handed_off = await client.call_tool("generate_image", {"prompt": "a slow fox"})
    assert not handed_off.is_error  # not ready is not an error
    data = structured(handed_off)
    assert data["state"] == "processing"
    assert data["outputs"] == []
    assert 35 <= data["waited_seconds"] <= 36
    assert emulator.clock.now() - started <= 36  # the call returned within its budget
    assert "wait_for_generation" in data["next_step"]
    assert data["generation_id"] in blocks(handed_off, TextContent)[0].text

    still = structured(await client.call_tool("wait_for_generation", {"generation_id": data["generation_id"]}))
    assert still["state"] == "processing"  # 70 s in
    done = await client.call_tool(
        "wait_for_generation", {"generation_id": data["generation_id"], "timeout_seconds": 60}
    )
    assert structured(done)["state"] == "completed"
    assert blocks(done, ImageContent)
    assert len(emulator.requests_to("create")) == 1  # waiting never submits again


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


async def test_layering_outputs_are_all_saved(client: Client, emulator: Emulator) -> None:
    # layering is not a tool yet; a generation made elsewhere is still fetched and saved whole.
    import httpx2

    async with httpx2.AsyncClient(transport=emulator.transport(), base_url=emulator.base_url) as api:
        source = {"data": b64(png_bytes((80, 40))), "media_type": "image/png"}
        created = await api.post(
            "/generations",
            json={"prompt": "", "type": "layering", "source": source},
            headers={"Authorization": "Bearer luma-api-test-key"},
        )
    emulator.clock.advance(60)
    data = structured(await client.call_tool("get_generation", {"generation_id": created.json()["id"]}))
    assert [o["layer"]["label"] for o in data["outputs"]] == ["background", "subject", "foreground"]
    assert all(Path(o["path"]).exists() for o in data["outputs"])
    assert all(o["media_type"] == "image/png" for o in data["outputs"])


async def test_without_a_key_the_tools_list_and_calls_say_how_to_set_it(
    settings: Settings, emulator: Emulator, mode: str
) -> None:
    server = make_server(settings.model_copy(update={"api_key": None}), emulator)
    async with Client(server, mode=mode) as client:  # pyright: ignore[reportArgumentType]
        assert len((await client.list_tools()).tools) == 6
        result = await client.call_tool("generate_image", {"prompt": "a cat"})
    assert result.is_error
    text = blocks(result, TextContent)[0].text
    assert "LUMA_AGENTS_API_KEY" in text
    assert "--emulator" in text
    assert emulator.requests == []


async def test_preview_is_small_even_for_a_full_size_output(settings: Settings, emulator: Emulator, mode: str) -> None:
    emulator.configure(long_edge=2048)
    async with Client(make_server(settings, emulator), mode=mode) as client:  # pyright: ignore[reportArgumentType]
        result = await client.call_tool("generate_image", {"prompt": "a big fox", "aspect_ratio": "1:1"})
    [preview] = blocks(result, ImageContent)
    raw = base64.b64decode(preview.data)
    assert len(raw) < 700_000
    assert Image.open(io.BytesIO(raw)).size == (1024, 1024)
    assert structured(result)["outputs"][0]["width"] == 2048


async def test_when_no_folder_can_be_written_the_id_and_link_still_come_back(
    settings: Settings, emulator: Emulator, tmp_path: Path, temporary_folder: Path
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the output directory should be")
    temporary_folder.rmdir()
    temporary_folder.write_text("and one where the temporary folder should be")
    server = make_server(settings.model_copy(update={"output_dir": blocked}), emulator)
    async with Client(server) as client:
        result = await client.call_tool("generate_image", {"prompt": "a fox"})
        assert not result.is_error  # the image exists; only the local copy is missing
        data = structured(result)
        [output] = data["outputs"]
        assert (data["state"], output["path"]) == ("completed", None)
        assert "nothing was saved" in output["error"]
        assert output["url"].startswith("http")
        assert "get_generation" in data["next_step"]
        assert data["warnings"]
        blocked.unlink()  # the folder can be made now: looking again saves the image
        again = structured(await client.call_tool("get_generation", {"generation_id": data["generation_id"]}))
    assert Path(again["outputs"][0]["path"]).read_bytes() == await emulator.output_bytes(data["generation_id"])
