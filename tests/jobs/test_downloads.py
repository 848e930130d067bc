"""Downloading a finished image: a fresh link for an expired one, once more for damaged bytes,
and the link handed out when the image cannot be had."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator

from ..support.clocks import until_requested
from ..support.servers import make_server, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


async def test_an_expired_link_is_refreshed_and_the_download_retried(client: Client, emulator: Emulator) -> None:
    emulator.inject("download", "status", status=403)
    data = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    assert Path(data["outputs"][0]["path"]).read_bytes() == await emulator.output_bytes(data["generation_id"])
    trail = [(r.route, r.status) for r in emulator.requests if r.route in ("get", "download")][-3:]
    assert trail == [("download", 403), ("get", 200), ("download", 200)]


async def test_a_truncated_download_is_retried_once(client: Client, emulator: Emulator) -> None:
    emulator.inject("download", "truncate")
    data = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    assert Path(data["outputs"][0]["path"]).read_bytes() == await emulator.output_bytes(data["generation_id"])
    assert len(emulator.requests_to("download")) == 2


async def test_a_download_truncated_twice_is_reported_and_saved_on_the_next_look(
    client: Client, emulator: Emulator, output_dir: Path
) -> None:
    emulator.inject("download", "truncate", count=2)
    data = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    [output] = data["outputs"]
    assert output["path"] is None
    assert "RemoteProtocolError" in output["error"]
    assert output["url"]
    assert not list(output_dir.glob("*.png"))
    assert not list(output_dir.glob(".*.part"))  # nothing half-written left behind
    again = structured(await client.call_tool("get_generation", {"generation_id": data["generation_id"]}))
    assert Path(again["outputs"][0]["path"]).read_bytes() == await emulator.output_bytes(data["generation_id"])


@pytest.mark.parametrize("output_format", ["png", "jpeg"])  # caught by the storage's MD5 (and by the PNG chunks' CRCs)
async def test_corrupt_bytes_are_caught_and_downloaded_again(
    client: Client, emulator: Emulator, output_format: str
) -> None:
    emulator.inject("download", "corrupt")
    data = structured(await client.call_tool("generate_image", {"prompt": "a fox", "output_format": output_format}))
    assert Path(data["outputs"][0]["path"]).read_bytes() == await emulator.output_bytes(data["generation_id"])
    assert len(emulator.requests_to("download")) == 2


async def test_a_download_over_the_cap_is_refused_and_its_link_kept(settings: Settings, emulator: Emulator) -> None:
    async with Client(make_server(settings.model_copy(update={"max_download_mb": 0.001}), emulator)) as client:
        data = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    [output] = data["outputs"]
    assert output["path"] is None
    assert "download cap" in output["error"]
    assert output["url"]


async def test_a_refreshed_link_is_the_one_handed_out_when_saving_fails_anyway(
    client: Client, emulator: Emulator
) -> None:
    from urllib.parse import urlsplit

    emulator.inject("download", "status", status=403, delay=2)  # refused 2 s on: the fresh link differs
    emulator.inject("download", "truncate", count=2)  # and the fresh link fails twice
    outputs: list[dict[str, Any]] = []

    async def generate() -> None:
        outputs.extend(structured(await client.call_tool("generate_image", {"prompt": "a fox"}))["outputs"])

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(generate)
        await until_requested(emulator, "download")  # the first download waits for its answer
        emulator.clock.advance(2)
    [output] = outputs
    assert output["path"] is None
    downloads = emulator.requests_to("download")
    assert len(downloads) == 3
    assert urlsplit(output["url"]).query == downloads[-1].query != downloads[0].query
