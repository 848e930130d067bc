"""The history: what was made survives a restart, is searchable, names its inputs without their
bytes, and keeps each file's record in the folder that holds it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from mcp import Client

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator

from ..support.samples import b64, layering_job
from ..support.servers import make_server, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


async def test_history_survives_a_restart_and_is_searchable(settings: Settings, emulator: Emulator) -> None:
    async with Client(make_server(settings, emulator)) as client:
        fox = structured(await client.call_tool("generate_image", {"prompt": "a red fox in the snow"}))
        whale = structured(await client.call_tool("generate_image", {"prompt": "a blue whale", "aspect_ratio": "16:9"}))
    async with Client(make_server(settings, emulator)) as client:  # a new server process would read the same
        everything = structured(await client.call_tool("list_generations", {}))
        foxes = structured(await client.call_tool("list_generations", {"query": "RED fox"}))
        latest = structured(await client.call_tool("list_generations", {"limit": 1}))
        nothing = await client.call_tool("list_generations", {"query": "giraffe"})
    assert [g["generation_id"] for g in everything["generations"]] == [whale["generation_id"], fox["generation_id"]]
    [found] = foxes["generations"]
    assert (found["generation_id"], found["prompt"], found["state"]) == (
        fox["generation_id"],
        "a red fox in the snow",
        "completed",
    )
    assert found["files"][0]["path"] == fox["outputs"][0]["path"]
    assert [g["generation_id"] for g in latest["generations"]] == [whale["generation_id"]]
    assert everything["generations"][0]["aspect_ratio"] == "16:9"
    assert structured(nothing)["generations"] == []
    assert "try fewer words" in structured(nothing)["next_step"]


async def test_history_records_inputs_but_never_their_bytes(client: Client, output_dir: Path) -> None:
    from ..support.samples import png_bytes

    base = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    source = {"generation_id": base["generation_id"]}
    ref = {"data": b64(png_bytes()), "media_type": "image/png"}
    await client.call_tool("edit_image", {"prompt": "at night", "source": source, "image_ref": [ref]})
    [edit, _] = structured(await client.call_tool("list_generations", {}))["generations"]
    assert edit["inputs"] == [
        {"field": "source", "kind": "generation_id", "value": base["generation_id"], "media_type": None},
        {"field": "image_ref[0]", "kind": "data", "value": None, "media_type": "image/png"},
    ]
    assert ref["data"] not in (output_dir / ".luma-agents" / "history.jsonl").read_text()


async def test_after_a_fallback_part_way_each_folder_keeps_the_record_of_its_files(
    settings: Settings, emulator: Emulator, output_dir: Path, temporary_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import shutil

    from luma_mcp.media import folders, outputs

    real_write, real_probe = outputs._PartialFile.write, folders._probe  # pyright: ignore[reportPrivateUsage]
    disk_full = False

    def write(self: outputs._PartialFile, data: list[bytes]) -> None:  # pyright: ignore[reportPrivateUsage]
        nonlocal disk_full
        disk_full = disk_full or (self.directory == output_dir and "_layer-1-" in self.stem)
        if self.directory == output_dir and disk_full:  # the first output fits; then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, data)

    def probe(folder: Path) -> None:
        if folder == output_dir and disk_full:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_probe(folder)

    monkeypatch.setattr(outputs._PartialFile, "write", write)  # pyright: ignore[reportPrivateUsage]
    monkeypatch.setattr(folders, "_probe", probe)
    gid = await layering_job(emulator)
    async with Client(make_server(settings, emulator)) as client:
        first = structured(await client.call_tool("get_generation", {"generation_id": gid}))
    kept = Path(first["outputs"][0]["path"])
    assert kept.parent == output_dir
    assert all(Path(o["path"]).parent != output_dir for o in first["outputs"][1:])  # in the fallback
    # The temporary folder is cleaned away (a reboot); the disk has room again.
    monkeypatch.setattr(outputs._PartialFile, "write", real_write)  # pyright: ignore[reportPrivateUsage]
    monkeypatch.setattr(folders, "_probe", real_probe)
    shutil.rmtree(temporary_folder / f"luma-agents-mcp-{os.getuid()}")
    async with Client(make_server(settings, emulator)) as client:
        again = structured(await client.call_tool("get_generation", {"generation_id": gid}))
    assert again["outputs"][0]["path"] == str(kept)  # still known: not saved a second time
    assert not any(re.search(r"-\d\.png$", p.name) for p in output_dir.glob("*.png"))


async def test_a_finished_job_is_noted_finished_even_when_its_image_could_not_be_saved(
    client: Client, emulator: Emulator
) -> None:
    emulator.inject("download", "status", status=500, count=10)
    data = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    assert data["outputs"][0]["path"] is None
    [listed] = structured(await client.call_tool("list_generations", {}))["generations"]
    assert listed["state"] == "completed"
