"""Where images go when the output folder cannot be written: a private temporary folder, never one
someone else could write, and when none can be written, the id and the link still."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mcp import Client

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator

from ..support.samples import plant_history
from ..support.servers import make_server, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


async def test_an_unwritable_output_folder_falls_back_to_a_temporary_one_and_says_so(
    settings: Settings, emulator: Emulator, tmp_path: Path, temporary_folder: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    server = make_server(settings.model_copy(update={"output_dir": blocked / "images"}), emulator)
    async with Client(server) as client:
        result = await client.call_tool("generate_image", {"prompt": "a fox"})
        data = structured(result)
        listed = structured(await client.call_tool("list_generations", {}))
    path = Path(data["outputs"][0]["path"])
    assert path.parent == temporary_folder / f"luma-agents-mcp-{os.getuid()}"
    assert path.parent.stat().st_mode & 0o777 == 0o700  # others cannot read or plant anything
    assert path.read_bytes() == await emulator.output_bytes(data["generation_id"])
    [warning] = data["warnings"]
    assert str(blocked / "images") in warning
    assert "LUMA_MCP_OUTPUT_DIR" in warning
    assert "Warning:" in result.content[0].text  # type: ignore[union-attr]
    assert listed["generations"][0]["files"][0]["path"] == str(path)  # the history found it there too


async def test_a_temporary_folder_someone_else_could_write_is_neither_used_nor_believed(
    settings: Settings, emulator: Emulator, tmp_path: Path, temporary_folder: Path
) -> None:
    # Made first by someone else (here: open to all), with a planted history line.
    planted = temporary_folder / f"luma-agents-mcp-{os.getuid()}"
    planted.mkdir()
    planted.chmod(0o777)
    secret = tmp_path / "credentials"
    secret.write_text("aws_secret=XYZ")
    plant_history(planted, "11111111-2222-3333-4444-555555555555", secret)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    server = make_server(settings.model_copy(update={"output_dir": blocked / "images"}), emulator)
    async with Client(server) as client:
        listed = structured(await client.call_tool("list_generations", {}))
        data = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    assert listed["generations"] == []
    [output] = data["outputs"]
    assert output["path"] is None  # not saved where another user could read or replace it
    assert output["url"]
    assert "not a private folder" in data["warnings"][0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permission bits; the case above covers root")
async def test_a_read_only_output_folder_falls_back(
    settings: Settings, emulator: Emulator, output_dir: Path, temporary_folder: Path
) -> None:
    output_dir.mkdir()
    output_dir.chmod(0o500)
    try:
        async with Client(make_server(settings, emulator)) as client:
            data = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    finally:
        output_dir.chmod(0o700)
    assert Path(data["outputs"][0]["path"]).is_relative_to(temporary_folder)
    assert data["warnings"]


async def test_a_full_disk_found_while_saving_falls_back_to_the_temporary_folder(
    client: Client, emulator: Emulator, output_dir: Path, temporary_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from luma_mcp.media import folders, outputs

    real_write, real_probe = outputs._PartialFile.write, folders._probe  # pyright: ignore[reportPrivateUsage]

    def full(folder: Path) -> bool:
        return folder.resolve().is_relative_to(output_dir.resolve())

    disk_full = False  # until the image is written: the folder passes its probe first

    def write(self: outputs._PartialFile, data: list[bytes]) -> None:  # pyright: ignore[reportPrivateUsage]
        nonlocal disk_full
        if full(self.directory):
            disk_full = True
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, data)

    def probe(folder: Path) -> None:
        if full(folder) and disk_full:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_probe(folder)

    monkeypatch.setattr(outputs._PartialFile, "write", write)  # pyright: ignore[reportPrivateUsage]
    monkeypatch.setattr(folders, "_probe", probe)
    data = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    path = Path(data["outputs"][0]["path"])
    assert path.parent == temporary_folder / f"luma-agents-mcp-{os.getuid()}"
    assert path.read_bytes() == await emulator.output_bytes(data["generation_id"])
    assert "No space left on device" in data["warnings"][0]
    assert not list(output_dir.glob("*.png"))


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
