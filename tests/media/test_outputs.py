"""Saving a finished image, below the server: modes, links swapped in, disk errors."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

import httpx2
import pytest

from luma_mcp.media import folders, outputs

from ..support.samples import png_bytes

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="file modes and umask are POSIX")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@posix_only
def test_a_link_swapped_in_at_the_saved_name_keeps_its_targets_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A folder another local user can write: they watch it and, right after the rename, put a
    # link to one of our private files at the saved name (as an inotify loop would).
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE")
    secret.chmod(0o600)
    real_replace = Path.replace

    def replace_then_swap(self: Path, target: Path) -> Path:
        moved = real_replace(self, target)
        if self.suffix == ".part":
            target.unlink()
            target.symlink_to(secret)
        return moved

    monkeypatch.setattr(Path, "replace", replace_then_swap)
    path, _, _ = outputs._PartialFile(shared, "img").commit([png_bytes()], "png")  # pyright: ignore[reportPrivateUsage]
    assert path.is_symlink()  # the swap happened
    assert mode(secret) == 0o600


@posix_only
def test_a_file_system_that_refuses_modes_still_gets_the_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*_: object) -> None:
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(os, "fchmod", refused)
    path, _, _ = outputs._PartialFile(tmp_path, "img").commit([png_bytes()], "png")  # pyright: ignore[reportPrivateUsage]
    assert path.read_bytes() == png_bytes()


def test_a_failed_rename_leaves_no_empty_image_at_the_name_it_reserved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: Path, target: Path) -> Path:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "replace", full)
    partial = outputs._PartialFile(tmp_path, "img")  # pyright: ignore[reportPrivateUsage]
    with pytest.raises(OSError, match="No space left"):
        partial.commit([png_bytes()], "png")
    partial.discard()
    assert list(tmp_path.iterdir()) == []


@posix_only
def test_a_saved_image_has_the_mode_the_users_umask_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outputs, "_umask", lambda: 0o027)
    path, _, _ = outputs._PartialFile(tmp_path, "img").commit([png_bytes()], "png")  # pyright: ignore[reportPrivateUsage]
    assert mode(path) == 0o640  # not a fixed 0644: this user's files are not for others


@posix_only
@pytest.mark.parametrize("proc", [True, False], ids=["from-proc", "without-proc"])
def test_the_umask_is_read_without_changing_it(proc: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not proc:  # macOS, or Linux without /proc: read by setting a strict one for an instant
        real_read_text = Path.read_text

        def no_proc(self: Path, *args: object, **kwargs: object) -> str:
            if str(self).startswith("/proc/"):
                raise FileNotFoundError(self)
            return real_read_text(self, *args, **kwargs)  # pyright: ignore[reportArgumentType]

        monkeypatch.setattr(Path, "read_text", no_proc)
    before = os.umask(0o027)
    try:
        assert outputs._umask.__wrapped__() == 0o027  # pyright: ignore[reportPrivateUsage, reportFunctionMemberAccess]
        assert os.umask(0o027) == 0o027  # still what it was
    finally:
        os.umask(before)


def image_link(data: bytes) -> httpx2.AsyncClient:
    """A client whose every GET answers `data` as a PNG, as the storage host does."""
    answer = httpx2.Response(200, content=data, headers={"Content-Type": "image/png"})
    return httpx2.AsyncClient(transport=httpx2.MockTransport(lambda _: answer))


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("seam", "error"),
    [
        ("write", errno.ENOSPC),  # a block on its way to disk
        ("commit", errno.ENOSPC),  # the last bytes, the rename
        ("write", errno.EACCES),
        ("commit", errno.EROFS),
    ],
)
async def test_a_disk_error_while_saving_names_the_reason_and_asks_for_the_fallback(
    seam: str, error: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(*_: object) -> None:
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(outputs, "FLUSH_BYTES", 1)  # every chunk is written as it comes
    monkeypatch.setattr(outputs._PartialFile, seam, fails)  # pyright: ignore[reportPrivateUsage]
    async with image_link(png_bytes()) as http:
        with pytest.raises(outputs.OutputError) as refused:
            await outputs.download(http, "https://storage.test/x.png", tmp_path, "img", max_bytes=10**6)
    assert str(refused.value) == f"could not write {tmp_path}: {os.strerror(error)}"
    assert refused.value.retry == "fallback"
    assert list(tmp_path.iterdir()) == []  # no partial file left behind


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full, a file that is always full")
def test_discarding_a_partial_file_on_a_full_disk_removes_it_and_raises_nothing(tmp_path: Path) -> None:
    # It runs while the error that ended the download is on its way: raising would replace it.
    partial = outputs._PartialFile(tmp_path, "img")  # pyright: ignore[reportPrivateUsage]
    partial.write([])  # the .part file exists
    assert partial._file is not None  # pyright: ignore[reportPrivateUsage]
    partial._file.close()  # pyright: ignore[reportPrivateUsage]
    partial._file = full = open("/dev/full", "wb")  # noqa: SIM115  # pyright: ignore[reportPrivateUsage]
    full.write(b"x")  # buffered: closing must flush it, and that fails
    partial.discard()
    assert full.closed
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full, a file that is always full")
def test_a_folder_on_a_full_disk_is_not_taken_for_writable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    preferred = tmp_path / "images"
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    real_temporary_file = tempfile.TemporaryFile

    def full_disk(*args: Any, **kwargs: Any) -> IO[bytes]:
        if Path(kwargs["dir"]) == preferred:  # a new file fits (an inode is free), no byte does
            return open("/dev/full", "w+b")
        return real_temporary_file(*args, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", full_disk)
    folder = folders.OutputFolder(preferred)
    chosen, warning = folder._writable()  # pyright: ignore[reportPrivateUsage]
    assert chosen == folder.fallback
    assert f"{preferred} cannot be written (No space left on device)" in (warning or "")


@pytest.mark.anyio
@pytest.mark.parametrize("piece", [1, 5, 70_000])
async def test_a_download_however_the_network_cuts_it_is_told_apart_and_saved_whole(piece: int, tmp_path: Path) -> None:
    data = png_bytes()

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(data), piece):
            yield data[start : start + piece]

    def answer(_: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=pieces(), headers={"Content-Type": "image/png"})

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(answer)) as http:
        saved = await outputs.download(http, "https://storage.test/x.png", tmp_path, "img", max_bytes=10**6)
    assert (saved.media_type, saved.size_bytes) == ("image/png", len(data))
    assert Path(saved.path).read_bytes() == data
    assert saved.sha256 == hashlib.sha256(data).hexdigest()
