"""A finished job's images saved once each: every output, exactly the bytes served, never a
second copy, not even when two calls or a cancel race the save."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.server import build_server

from ..support.clocks import AutojumpTime, cancelled_once_requested, until_requested
from ..support.samples import b64, layering_job, png_bytes
from ..support.servers import make_server, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


async def test_a_split_made_elsewhere_is_fetched_and_saved_whole_front_to_back(
    client: Client, emulator: Emulator
) -> None:
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
    assert [o["layer"]["label"] for o in data["outputs"]] == ["foreground", "subject", "background"]
    assert all(Path(o["path"]).exists() for o in data["outputs"])
    assert all(o["media_type"] == "image/png" for o in data["outputs"])


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


async def test_identical_calls_at_once_save_their_image_once(
    settings: Settings, emulator: Emulator, output_dir: Path
) -> None:
    emulator.inject("download", "slow", delay=2.5, count=2)  # a 2K image over a real link
    time = AutojumpTime(emulator.clock)
    server = build_server(settings, transport=emulator.transport(), timekeeper=time)
    results: list[dict[str, Any]] = []
    async with anyio.create_task_group() as outer:
        outer.start_soon(time.drive)
        async with Client(server) as client:

            async def one() -> None:
                results.append(structured(await client.call_tool("generate_image", {"prompt": "a fox"})))

            async with anyio.create_task_group() as calls:
                calls.start_soon(one)
                calls.start_soon(one)
        outer.cancel_scope.cancel()
    assert len(emulator.requests_to("create")) == 1
    assert [p.name for p in output_dir.glob("*.png")] == [Path(results[0]["outputs"][0]["path"]).name]
    assert results[0]["outputs"][0]["path"] == results[1]["outputs"][0]["path"]


async def test_an_output_saved_before_a_cancel_is_recorded_and_not_saved_again(
    settings: Settings, emulator: Emulator, output_dir: Path
) -> None:
    gid = await layering_job(emulator)
    emulator.inject("download", "slow", delay=0)  # the first output comes at once
    emulator.inject("download", "slow", delay=5)  # the second is slow: the call is cancelled meanwhile
    call = anyio.CancelScope()
    async with Client(make_server(settings, emulator)) as client:

        async def look() -> None:
            with call:
                await client.call_tool("get_generation", {"generation_id": gid})

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(look)
            await until_requested(emulator, "download", 2)  # the first saved, the second under way
            call.cancel()
        assert len(list(output_dir.glob("*.png"))) == 1  # the first output, saved before the cancel
        done = structured(await client.call_tool("get_generation", {"generation_id": gid}))
    saved = sorted(output_dir.glob("*.png"))
    assert len(saved) == len(done["outputs"]) == 3
    assert not any(re.search(r"-\d\.png$", p.name) for p in saved)  # none saved twice under a new name
    assert {o["path"] for o in done["outputs"]} == {str(p) for p in saved}


async def test_a_generating_call_cancelled_mid_wait_leaves_its_job_free_for_another_server_to_save(
    settings: Settings, emulator: Emulator, output_dir: Path
) -> None:
    """A generating call takes its job's save lock with the create's record; cancelled while it
    waits, it lets the lock go, so another server on the store saves the image at its first look."""
    stuck = AutojumpTime(emulator.clock)  # never driven: its waits last until the test moves the clock
    waiting = build_server(settings, transport=emulator.transport(), timekeeper=stuck, clock=emulator.clock.now)
    async with Client(waiting) as client:  # cancelled once created, recorded and waiting
        await cancelled_once_requested(client, "generate_image", {"prompt": "a fox, cancelled"}, emulator, "create")
    [generation_id] = emulator.generation_ids()
    emulator.clock.advance(31)  # done (30 s jobs), well inside the wait the call would have made
    looked_at = emulator.clock.now()
    async with Client(make_server(settings, emulator)) as client:  # its waits move the clock
        done = structured(await client.call_tool("get_generation", {"generation_id": generation_id}))
    assert done["state"] == "completed"
    assert emulator.clock.now() - looked_at < 5  # saved at once, not once the lock ran out
    assert [Path(output["path"]).parent for output in done["outputs"]] == [output_dir]
