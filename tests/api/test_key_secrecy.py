"""The API key goes to the API host only: never into a result, a log line or the storage host."""

from __future__ import annotations

import logging

import pytest
from mcp import Client

from luma_mcp.emulator import Emulator

from ..support.samples import KEY, b64, png_bytes

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


async def test_the_key_is_in_no_result_and_no_log_line(
    client: Client, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    results = []
    first = await client.call_tool("generate_image", {"prompt": "a fox"})
    results.append(first)
    assert first.structured_content is not None
    gid = first.structured_content["generation_id"]
    results.append(await client.call_tool("edit_image", {"prompt": "at night", "source": {"generation_id": gid}}))
    results.append(await client.call_tool("get_generation", {"generation_id": gid}))
    results.append(await client.call_tool("wait_for_generation", {"generation_id": gid}))
    emulator.inject("create", "status", status=502)
    results.append(await client.call_tool("generate_image", {"prompt": "fails"}))
    emulator.inject("create", "drop")
    results.append(await client.call_tool("generate_image", {"prompt": "lost"}))
    emulator.set_key(KEY, "revoked")
    results.append(await client.call_tool("get_generation", {"generation_id": gid}))

    assert [r.is_error for r in results] == [False, False, False, False, True, True, True]
    emulator.set_key(KEY, "active")
    results.append(await client.call_tool("list_generations", {}))
    results.append(await client.call_tool("upload_image", {"data": b64(png_bytes()), "media_type": "image/png"}))
    resources = [await client.read_resource(f"luma://generations/{gid}")]
    resources += [await client.read_resource(str(r.uri)) for r in (await client.list_resources()).resources]
    for result in results:
        assert KEY not in result.model_dump_json()
    assert len(resources) >= 2
    for resource in resources:
        assert KEY not in resource.model_dump_json()
    assert caplog.records  # the log was captured, and at DEBUG
    assert KEY not in caplog.text
    assert not any(r.authorization_sent for r in emulator.requests_to("download"))


async def test_the_api_key_never_reaches_the_storage_host(client: Client, emulator: Emulator) -> None:
    await client.call_tool("generate_image", {"prompt": "a cat"})
    downloads = emulator.requests_to("download")
    assert downloads
    assert not any(r.authorization_sent for r in downloads)
    assert all(r.authorization_sent for r in emulator.requests_to("create") + emulator.requests_to("get"))
