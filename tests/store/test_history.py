"""The history: what was made survives a restart, is searchable, names its inputs without their
bytes, and keeps each file's record in the folder that holds it."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mcp import Client

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.store.records import HistoryEntry

from ..support.samples import b64, layering_job, png_bytes
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


async def test_history_records_inputs_but_never_their_bytes(client: Client, state_folder: Path) -> None:
    base = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    source = {"generation_id": base["generation_id"]}
    ref = {"data": b64(png_bytes()), "media_type": "image/png"}
    await client.call_tool("edit_image", {"prompt": "at night", "source": source, "image_ref": [ref]})
    [edit, _] = structured(await client.call_tool("list_generations", {}))["generations"]
    assert edit["inputs"] == [
        {"field": "source", "kind": "generation_id", "value": base["generation_id"], "media_type": None},
        {"field": "image_ref[0]", "kind": "data", "value": None, "media_type": "image/png"},
    ]
    kept = b"".join(path.read_bytes() for path in state_folder.iterdir())  # the database, its WAL
    assert kept
    assert ref["data"].encode() not in kept


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


async def test_a_look_at_an_older_image_does_not_move_it_up_and_the_list_outlives_a_restart(
    settings: Settings, emulator: Emulator
) -> None:
    """Over HTTP (no files kept), as on stdio: most recent first by creation, kept across restarts."""
    http_like = settings.model_copy(update={"transport": "http"})
    async with Client(make_server(http_like, emulator)) as client:
        fox = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
        emulator.clock.advance(60)
        whale = structured(await client.call_tool("generate_image", {"prompt": "a whale"}))
        await client.call_tool("get_generation", {"generation_id": fox["generation_id"]})
        listed = structured(await client.call_tool("list_generations", {}))
    async with Client(make_server(http_like, emulator)) as client:
        after_restart = structured(await client.call_tool("list_generations", {}))
    order = [whale["generation_id"], fox["generation_id"]]
    assert [g["generation_id"] for g in listed["generations"]] == order
    assert [g["generation_id"] for g in after_restart["generations"]] == order
    assert all(g["files"] == [] for g in listed["generations"])  # nothing kept on the server's disk


async def test_the_history_comes_a_page_at_a_time(client: Client, emulator: Emulator) -> None:
    made = []
    for prompt in ("a fox", "a whale", "a heron"):
        made.append(structured(await client.call_tool("generate_image", {"prompt": prompt}))["generation_id"])
        emulator.clock.advance(10)
    first = await client.call_tool("list_generations", {"limit": 2})
    second = structured(await client.call_tool("list_generations", {"limit": 2, "offset": 2}))
    assert [g["generation_id"] for g in structured(first)["generations"]] == made[:0:-1]
    assert structured(first)["next_offset"] == 2
    assert "offset=2" in first.content[0].text  # type: ignore[union-attr]
    assert [g["generation_id"] for g in second["generations"]] == made[:1]
    assert second["next_offset"] is None


def old_server_line(generation_id: str, prompt: str, state: str, created: str, **more: object) -> str:
    """One line of `history.jsonl` as versions before the store wrote it."""
    entry = HistoryEntry(
        generation_id=generation_id, prompt=prompt, state=state, created_at=created,
        recorded_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"), **more,  # pyright: ignore[reportArgumentType]
    )  # fmt: skip
    return json.dumps(entry.model_dump(mode="json", exclude_defaults=True)) + "\n"


async def test_the_history_of_an_earlier_version_is_imported_with_lines_it_appends_later(
    settings: Settings, emulator: Emulator, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from luma_mcp.store import history

    monkeypatch.setattr(history, "LOOK_AGAIN_SECONDS", 0.0)  # look at the old log at every read
    saved = output_dir / "2026-01-01_old-fox_aaaaaaaa_1.png"
    output_dir.mkdir()
    saved.write_bytes(png_bytes())
    log = output_dir / ".luma-agents" / "history.jsonl"
    log.parent.mkdir()
    file = {"index": 0, "path": str(saved), "media_type": "image/png", "size_bytes": 1, "sha256": "x"}
    log.write_text(  # two lines a generation, as the old server wrote them: created, then saved
        old_server_line("aaaaaaaa-old", "an old fox", "queued", "2026-01-01T00:00:00Z")
        + old_server_line("aaaaaaaa-old", "an old fox", "completed", "2026-01-01T00:00:00Z", files=[file])
        + '{"generation_id": "cut-short'  # a line the old server is still writing
    )
    async with Client(make_server(settings, emulator)) as client:
        imported = structured(await client.call_tool("list_generations", {"query": "fox"}))
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        with log.open("a") as older_server:  # the older server, still running beside, goes on
            older_server.write(
                "\n" + old_server_line("bbbbbbbb-later", "a later heron", "queued", "2026-01-02T00:00:00Z")
            )
        picked_up = structured(await client.call_tool("list_generations", {}))
    [old] = imported["generations"]
    assert (old["generation_id"], old["state"], old["files"][0]["path"]) == ("aaaaaaaa-old", "completed", str(saved))
    assert "luma://generations/aaaaaaaa-old/images/0.png" in resources
    assert [g["generation_id"] for g in picked_up["generations"]] == ["bbbbbbbb-later", "aaaaaaaa-old"]


async def test_a_long_import_neither_holds_up_start_up_nor_a_list_which_says_what_is_missing(
    settings: Settings, emulator: Emulator, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from luma_mcp.store import history, legacy

    monkeypatch.setattr(history, "IMPORT_WAIT_SECONDS", 0.05)
    released, real_read = threading.Event(), legacy.LegacyLog.read

    def slow_read(self: legacy.LegacyLog, start: int) -> tuple[list[HistoryEntry], int]:
        released.wait(timeout=30)  # an import of 100,000 generations, held until the test says
        return real_read(self, start)

    monkeypatch.setattr(legacy.LegacyLog, "read", slow_read)
    log = output_dir / ".luma-agents" / "history.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text(old_server_line("aaaaaaaa-old", "an old fox", "completed", "2026-01-01T00:00:00Z"))
    async with Client(make_server(settings, emulator)) as client:  # starts while the import is held
        partial = structured(await client.call_tool("list_generations", {}))
        released.set()
        monkeypatch.setattr(history, "IMPORT_WAIT_SECONDS", 30.0)
        whole = structured(await client.call_tool("list_generations", {}))
    assert partial["generations"] == []
    assert "still being imported" in partial["warnings"][0]
    assert [g["generation_id"] for g in whole["generations"]] == ["aaaaaaaa-old"]
    assert whole["warnings"] == []
