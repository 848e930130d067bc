"""An emulator with a state folder keeps what a later process needs, as the real API keeps jobs:
another emulator on the same folder reads its generations, downloads and chains them, and uses its
uploads, even while both write at once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest

from luma_mcp.emulator import Emulator, EmulatorConfig

from ..support.processes import Standalone, standalone_emulator
from ..support.samples import AUTH, b64, png_bytes

pytestmark = pytest.mark.anyio


def emulator_on(folder: Path | None) -> Emulator:
    state_dir = None if folder is None else str(folder)
    return Emulator(EmulatorConfig(long_edge=64, latency=10, rpm=100, concurrency=100, state_dir=state_dir))


@asynccontextmanager
async def api_of(emulator: Emulator) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=emulator.transport(), base_url=emulator.base_url, headers=AUTH) as api:
        yield api


async def create(emulator: Emulator, body: dict[str, Any]) -> str:
    async with api_of(emulator) as api:
        created = await api.post("/generations", json=body)
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def test_a_later_emulator_on_the_same_folder_reads_downloads_and_chains_the_earlier_ones_jobs(
    tmp_path: Path,
) -> None:
    first = emulator_on(tmp_path)
    source = {"data": b64(png_bytes((48, 32))), "media_type": "image/png"}
    made = await create(first, {"prompt": "a fox", "output_format": "png", "image_ref": [source]})
    first.clock.advance(60)
    made_bytes = await first.output_bytes(made)

    later = emulator_on(tmp_path)  # as a process started afterwards: nothing in memory
    later.clock.advance(60)
    async with api_of(later) as api:
        looked = (await api.get(f"/generations/{made}")).json()
        async with httpx2.AsyncClient(transport=later.transport()) as storage:
            downloaded = await storage.get(looked["output"][0]["url"])
        edited = await api.post(
            "/generations", json={"type": "image_edit", "prompt": "at night", "source": {"generation_id": made}}
        )
    assert (looked["id"], looked["state"], looked["model"]) == (made, "completed", "uni-1")
    assert downloaded.content == made_bytes  # rendered again, the same bytes
    assert edited.status_code == 201, edited.text
    later.clock.advance(60)
    assert later.generation(edited.json()["id"]).inputs[0].data == made_bytes  # chained off the earlier job


async def test_an_upload_is_used_and_listed_by_a_later_emulator(tmp_path: Path) -> None:
    first = emulator_on(tmp_path)
    async with api_of(first) as api:
        uploaded = await api.post(
            "/files", files={"file": ("cat.png", png_bytes(), "image/png")}, data={"mime_type": "image/png"}
        )
    file_id = uploaded.json()["id"]
    later = emulator_on(tmp_path)
    later.clock.advance(60)
    async with api_of(later) as api:
        listed = (await api.get("/files")).json()["data"]
        used = await api.post(
            "/generations", json={"type": "image_edit", "prompt": "x", "source": {"file_id": file_id}}
        )
    assert [item["id"] for item in listed] == [file_id]
    assert used.status_code == 201, used.text
    assert later.state.files == {}  # listed and used from the journal, no upload's bytes kept in memory


async def test_a_file_deleted_by_one_emulator_is_deleted_for_the_others(tmp_path: Path) -> None:
    first, other = emulator_on(tmp_path), emulator_on(tmp_path)
    async with api_of(first) as api:
        uploaded = await api.post(
            "/files", files={"file": ("cat.png", png_bytes(), "image/png")}, data={"mime_type": "image/png"}
        )
    file_id = uploaded.json()["id"]
    other.clock.advance(60)
    async with api_of(other) as api:
        assert (await api.get(f"/files/{file_id}")).json()["state"] == "ready"  # read while it lived
    async with api_of(first) as api:
        assert (await api.delete(f"/files/{file_id}")).status_code == 204
    later = emulator_on(tmp_path)
    later.clock.advance(60)
    for emulator in (other, later):
        async with api_of(emulator) as api:
            looked = await api.get(f"/files/{file_id}")
            listed = (await api.get("/files")).json()["data"]
            used = await api.post("/generations", json={"prompt": "x", "image_ref": [{"file_id": file_id}]})
        # As in one process (test_files): a deleted file reads as "deleted", is not listed nor usable.
        assert (looked.status_code, looked.json()["state"], listed) == (200, "deleted", [])
        assert used.status_code == 422, used.text


async def test_a_file_completed_by_one_emulator_is_ready_for_another_that_read_it_pending(tmp_path: Path) -> None:
    first, other = emulator_on(tmp_path), emulator_on(tmp_path)
    data = png_bytes()
    async with api_of(first) as api:
        created = (await api.post("/files", json={"mime_type": "image/png", "size_bytes": len(data)})).json()
    async with api_of(other) as api:
        assert (await api.get(f"/files/{created['id']}")).json()["state"] == "pending"
    async with httpx2.AsyncClient(transport=first.transport()) as storage:
        put = await storage.put(created["upload"]["url"], content=data, headers=created["upload"]["headers"])
    assert put.status_code == 200
    async with api_of(first) as api:
        assert (await api.post(f"/files/{created['id']}/complete")).status_code == 200
    other.clock.advance(60)
    async with api_of(other) as api:
        looked = (await api.get(f"/files/{created['id']}")).json()
        used = await api.post("/generations", json={"prompt": "x", "image_ref": [{"file_id": created["id"]}]})
    assert looked["state"] == "ready"
    assert used.status_code == 201, used.text


async def test_two_emulators_writing_at_once_each_see_all_the_jobs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    one, other = emulator_on(tmp_path), emulator_on(tmp_path)
    made: list[str] = []

    async def make(emulator: Emulator, count: int) -> None:
        for index in range(count):
            made.append(await create(emulator, {"prompt": f"job {index}"}))

    async with anyio.create_task_group() as writers:  # their journal writes run in threads, side by side
        writers.start_soon(make, one, 15)
        writers.start_soon(make, other, 15)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    for emulator in (emulator_on(tmp_path), one, other):
        async with api_of(emulator) as api:
            states = {(await api.get(f"/generations/{gid}")).status_code for gid in made}
        assert states == {200}
    assert len(set(made)) == 30


async def test_a_reset_forgets_the_folders_jobs_too_and_no_folder_keeps_nothing(tmp_path: Path) -> None:
    first = emulator_on(tmp_path)
    made = await create(first, {"prompt": "a fox"})
    first.reset()
    async with api_of(emulator_on(tmp_path)) as api:
        assert (await api.get(f"/generations/{made}")).status_code == 404
    in_memory = await create(emulator_on(None), {"prompt": "a fox"})
    async with api_of(emulator_on(None)) as api:
        assert (await api.get(f"/generations/{in_memory}")).status_code == 404


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Standalone, Standalone]]:
    args = ("--latency", "0", "--long-edge", "64", "--state-dir", str(tmp_path))
    with standalone_emulator(*args) as one, standalone_emulator(*args) as other:
        yield one, other


def test_two_emulator_processes_on_one_folder_answer_for_each_others_jobs(
    pair: tuple[Standalone, Standalone],
) -> None:
    made: dict[str, str] = {}
    for api in pair:
        auth = {"Authorization": f"Bearer {api.key}"}
        for index in range(5):
            created = httpx.post(f"{api.base_url}/generations", json={"prompt": f"{index}"}, headers=auth)
            assert created.status_code == 201, created.text
            made[created.json()["id"]] = api.base_url
    for api in pair:
        auth = {"Authorization": f"Bearer {api.key}"}
        for gid in made:
            looked = httpx.get(f"{api.base_url}/generations/{gid}", headers=auth)
            assert (looked.status_code, looked.json()["state"]) == (200, "completed")
            image = httpx.get(looked.json()["output"][0]["url"])
            assert image.status_code == 200
            assert image.content.startswith((b"\x89PNG", b"\xff\xd8"))


async def test_a_state_folder_that_does_not_exist_yet_is_made_and_keeps_jobs_and_a_reset_clears_it(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "state" / "emulator"  # as `emulator --state-dir` on a fresh machine
    first = emulator_on(folder)
    made = await create(first, {"prompt": "a fox"})
    later = emulator_on(folder)
    later.clock.advance(60)
    async with api_of(later) as api:
        assert (await api.get(f"/generations/{made}")).json()["state"] == "completed"
    later.reset()
    async with api_of(emulator_on(folder)) as api:
        assert (await api.get(f"/generations/{made}")).status_code == 404
