"""Saving a finished image, below the server: modes, links swapped in, disk errors."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from luma_mcp.media import outputs

from ..helpers import png_bytes

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
    path, _, _ = outputs._PartialFile(shared, "img").commit(png_bytes(), "png")  # pyright: ignore[reportPrivateUsage]
    assert path.is_symlink()  # the swap happened
    assert mode(secret) == 0o600


@posix_only
def test_a_saved_image_has_the_mode_the_users_umask_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outputs, "_umask", lambda: 0o027)
    path, _, _ = outputs._PartialFile(tmp_path, "img").commit(png_bytes(), "png")  # pyright: ignore[reportPrivateUsage]
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
