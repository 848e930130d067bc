"""Local image files, piece by piece: what a path's text and the disk alone decide."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from luma_mcp.errors import InputError
from luma_mcp.media.local_files import confinement_problem, read_local_image, remote_path_problem

from ..support.samples import png_bytes

# (path as the agent writes it, refused on Windows, refused elsewhere, words of the refusal)
REMOTE: list[tuple[str, bool, bool, str]] = [
    ("\\\\fileserver\\share\\cat.png", True, True, "network share"),
    ("//fileserver/share/cat.png", True, False, "network share"),
    ("\\/fileserver/share/cat.png", True, False, "network share"),
    ("  \\\\fileserver\\share\\cat.png", True, True, "network share"),
    ("\\\\?\\C:\\Users\\me\\cat.png", True, True, "device path"),
    ("\\\\?\\UNC\\fileserver\\share\\cat.png", True, True, "device path"),
    ("\\\\.\\PhysicalDrive0", True, True, "device path"),
    ("//?/C:/Users/me/cat.png", True, False, "device path"),
    ("\\??\\C:\\Users\\me\\cat.png", True, True, "device path"),
    ("C:\\Users\\me\\cat.png", False, False, ""),
    ("/home/me/cat.png", False, False, ""),
    ("~/Pictures/cat.png", False, False, ""),
    ("\\Users\\me\\cat.png", False, False, ""),
]


@pytest.mark.parametrize(("raw", "on_windows", "elsewhere", "words"), REMOTE, ids=[r for r, *_ in REMOTE])
def test_network_and_device_paths_are_refused_by_their_text(
    raw: str, on_windows: bool, elsewhere: bool, words: str
) -> None:
    for windows, refused in ((True, on_windows), (False, elsewhere)):
        problem = remote_path_problem(raw, windows=windows)
        assert (problem is not None) == refused, (windows, problem)
        if problem is not None:
            assert words in problem


def test_reading_a_network_path_is_refused_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^image: .* is on a network share"):
        read_local_image("image", "\\\\fileserver\\share\\cat.png", [tmp_path])


def test_a_folder_windows_marks_hidden_counts_as_hidden(tmp_path: Path) -> None:
    home = tmp_path / "me"
    marked = {home / "AppData"}

    def hidden(path: Path) -> bool:
        return path in marked

    assert confinement_problem(home / "Pictures" / "cat.png", [home], hidden) is None
    problem = confinement_problem(home / "AppData" / "Local" / "cat.png", [home], hidden)
    assert problem is not None
    assert "hidden AppData" in problem
    assert confinement_problem(home / "AppData" / "Local" / "cat.png", [home, home / "AppData"], hidden) is None


def test_the_closest_listed_folder_is_named_in_a_refusal(tmp_path: Path) -> None:
    home = tmp_path / "me"
    problem = confinement_problem(home / ".config" / ".cache" / "cat.png", [home, home / ".config"])
    assert problem is not None
    assert "hidden .cache" in problem


def test_a_folder_swapped_for_a_link_while_the_file_is_opened_is_caught(tmp_path: Path) -> None:
    pictures, outside = tmp_path / "pictures", tmp_path / "outside"
    (pictures / "album").mkdir(parents=True)
    (pictures / "album" / "cat.png").write_bytes(png_bytes())
    outside.mkdir()
    (outside / "cat.png").write_bytes(png_bytes((8, 8)))  # another user's file, where the link leads

    def racing_open(path: Path, flags: int) -> int:
        """What an attacker does between the check and the open: the folder becomes a link."""
        (pictures / "album").rename(pictures / "album-was")
        (pictures / "album").symlink_to(outside)
        return os.open(path, flags)

    raw = str(pictures / "album" / "cat.png")
    if not Path("/proc/self/fd").is_dir() and sys.platform != "darwin":
        pytest.skip("this system cannot say where an open file is")
    with pytest.raises(InputError, match="outside the folders"):
        read_local_image("image", raw, [pictures], opener=racing_open)
    # Put back, the same path reads, through the same seam.
    (pictures / "album").unlink()
    (pictures / "album-was").rename(pictures / "album")
    data, media_type, _ = read_local_image("image", raw, [pictures], opener=os.open)
    assert (data, media_type) == (png_bytes(), "image/png")
