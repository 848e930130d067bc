"""Local image files the agent names by path, read only where they may be: inside the allowed
folders (symlinks resolved, hidden folders refused unless listed, the file opened re-checked
against a swapped folder), never a network share or a device, a regular file, sniffed as an image,
at most 50 MB, and a GIF only if it is still. Nothing is sent when a check fails.
"""

from __future__ import annotations

import io
import os
import re
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from ..api.models import MAX_INPUT_BYTES
from ..errors import InputError
from .sniff import describe_non_image, sniff_media_type

WINDOWS_DRIVE = re.compile(r"^(?P<drive>[A-Za-z]):[\\/](?P<rest>.*)$")


def remote_path_problem(raw: str, *, windows: bool = sys.platform == "win32") -> str | None:
    """Why a path names a network share or a device, from its text alone; None if it does not.

    Checked before the path touches the file system: on Windows, merely resolving
    `\\\\host\\share\\x.png` connects to that host over SMB, which can hand it the user's NTLM
    credentials. Backslash forms are refused everywhere (on POSIX they are no one's real path);
    `//host/share` only on Windows, where either slash is a separator."""
    text = raw.lstrip()
    leading = r"[\\/]" if windows else r"\\"
    if re.match(rf"^{leading}{leading}[?.]{leading}|^{leading}\?\?{leading}", text):
        return f"{raw[:60]} is a Windows device path; give a plain path, like C:\\Users\\me\\cat.png"
    if re.match(rf"^{leading}{leading}", text):
        return f"{raw[:60]} is on a network share, and only local files are read; copy it to a local folder first"
    return None


def relative_path_problem(raw: str) -> str | None:
    """Why a path cannot be read as given, being relative (None if it is absolute, starts with
    `~`, or names a Windows drive): the server's working folder is whatever its host started it
    in, never the agent's or the user's, so a relative path would find some other file or none."""
    if raw.startswith("~") or WINDOWS_DRIVE.match(raw) or Path(raw).is_absolute():
        return None
    example = Path.home() / "Pictures" / "cat.png"
    return (
        f"{raw} is a relative path, and this server cannot know which folder it is relative to: give an "
        f"absolute path (like {example}) or one starting with ~ (like ~/Pictures/cat.png)"
    )


def expanded_path(raw: str) -> Path:
    """`~` expanded; a Windows drive path mapped to WSL's `/mnt/<drive>` where that exists."""
    match = WINDOWS_DRIVE.match(raw)
    if match and sys.platform != "win32":
        mount = Path("/mnt") / match.group("drive").lower()
        if not mount.is_dir():
            raise ValueError(f"{raw} is a Windows path, but this server runs on {sys.platform}")
        return mount.joinpath(*re.split(r"[\\/]+", match.group("rest")))
    return Path(raw).expanduser()


def _hidden_attribute(path: Path) -> bool:
    """Windows hides some folders by an attribute, not a dot (AppData): they are hidden too."""
    if sys.platform != "win32":
        return False
    try:
        attributes = os.stat(path, follow_symlinks=False).st_file_attributes
    except OSError:
        return False
    return bool(attributes & stat.FILE_ATTRIBUTE_HIDDEN)


def _hidden_part(path: Path, root: Path, hidden_attribute: Callable[[Path], bool]) -> str | None:
    """The first hidden folder (or file) below `root` on the way to `path`."""
    current = root
    for part in path.relative_to(root).parts:
        current = current / part
        if part.startswith(".") or hidden_attribute(current):
            return part
    return None


def confinement_problem(
    path: Path, allowed: list[Path], hidden_attribute: Callable[[Path], bool] = _hidden_attribute
) -> str | None:
    """Why a resolved path may not be read, or None. It must lie in an allowed folder with nothing
    hidden below that folder; one such folder is enough, so listing `~/.art` beside `~` opens
    `~/.art` (and only it)."""
    roots = [root for root in allowed if path.is_relative_to(root)]
    if not roots:
        folders = ", ".join(str(folder) for folder in allowed)
        return f"is outside the folders images may be read from ({folders}); add its folder to LUMA_MCP_ALLOWED_DIRS"
    hidden = [_hidden_part(path, root, hidden_attribute) for root in roots]
    if any(part is None for part in hidden):
        return None
    # Named from the closest folder that holds it: that hidden folder is the one to list.
    closest = max(range(len(roots)), key=lambda i: len(roots[i].parts))
    return f"is in the hidden {hidden[closest]}, which is never read unless listed in LUMA_MCP_ALLOWED_DIRS"


def _opened_path(descriptor: int) -> Path | None:
    """Where an open file is, as the kernel sees it; None where the system cannot say."""
    if sys.platform == "darwin":
        import fcntl

        try:
            answer = fcntl.fcntl(descriptor, fcntl.F_GETPATH, bytes(1024))  # MAXPATHLEN
        except OSError:
            return None
        return Path(os.fsdecode(answer.split(b"\0", 1)[0]))
    try:
        return Path(os.readlink(f"/proc/self/fd/{descriptor}"))
    except OSError:  # no /proc (Windows, some containers): the check before opening stands alone
        return None


Opener = Callable[[Path, int], int]

NO_LOCAL_FILES = (
    "this server is set to read no local files (over HTTP its disk is not the caller's). Send the image as "
    "`data` (base64) or a `url` instead, or upload it with upload_image from `data` and pass the `file_id` it "
    "returns. (Whoever runs the server can let it read folders on its own disk with LUMA_MCP_ALLOWED_DIRS.)"
)


def read_local_image(field: str, raw: str, allowed: list[Path], opener: Opener = os.open) -> tuple[bytes, str, Path]:
    """Read an image file the agent named, or say why not. Blocking: run it in a worker thread.
    `opener` opens the checked path (`os.open`; tests race it)."""
    if not allowed:  # over HTTP by default: the path is likely on the caller's machine, not this one
        raise InputError(field, f"{raw} was not read: {NO_LOCAL_FILES}")
    problem = remote_path_problem(raw) or relative_path_problem(raw)
    if problem is not None:
        raise InputError(field, problem)
    try:
        # Links resolved as far as the path exists; confinement is checked before existence, so
        # nothing about files outside the allowed folders can be learned from the answers.
        resolved = expanded_path(raw).resolve(strict=False)
    except ValueError as exc:
        raise InputError(field, str(exc)) from None
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        raise InputError(field, f"{raw} cannot be opened ({type(exc).__name__})") from None
    problem = confinement_problem(resolved, allowed)
    if problem is not None:
        raise InputError(field, f"{raw} {problem}")
    # No following a link swapped in since the check, and no waiting on a FIFO.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = opener(resolved, flags)
    except FileNotFoundError:
        raise InputError(field, f"{raw} does not exist") from None
    except OSError as exc:
        raise InputError(field, f"{raw} cannot be opened ({exc.strerror})") from None
    try:
        # O_NOFOLLOW guards the last part only: a folder on the way swapped for a link since the
        # check would lead elsewhere. Where the file opened really is settles it.
        opened = _opened_path(descriptor)
        problem = None if opened is None else confinement_problem(opened, allowed)
        if problem is not None:
            raise InputError(field, f"{raw} {problem}")
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a pipe" if stat.S_ISFIFO(info.st_mode) else "a device"
            raise InputError(field, f"{raw} is {kind}, not a regular image file")
    except BaseException:
        os.close(descriptor)
        raise
    with os.fdopen(descriptor, "rb") as file:
        if info.st_size > MAX_INPUT_BYTES:
            raise InputError(field, f"{raw} is {info.st_size / 1e6:.0f} MB; the API takes images up to 50 MB")
        data = file.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(field, f"{raw} is over 50 MB; the API takes images up to 50 MB")
    media_type = sniff_media_type(data[:16])
    if media_type is None:
        raise InputError(field, f"{raw} is not a PNG, JPEG, WebP or GIF image{describe_non_image(data[:64])}")
    if media_type == "image/gif" and _animated(field, raw, data):
        raise InputError(field, f"{raw} is an animated GIF; the API takes still images only")
    return data, media_type, resolved


def _animated(field: str, raw: str, data: bytes) -> bool:
    """Whether a GIF has more than one frame; one that Pillow cannot read (right magic bytes,
    damaged after them) is refused here rather than by the API."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return bool(getattr(image, "is_animated", False))
    except Image.DecompressionBombError:
        raise InputError(field, f"{raw} declares more pixels than an image input can have") from None
    except (OSError, EOFError, SyntaxError, ValueError):  # OSError: UnidentifiedImageError too
        raise InputError(field, f"{raw} is not a readable GIF image") from None
