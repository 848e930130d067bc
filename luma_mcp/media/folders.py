"""Where finished images go: the configured folder, or a private temporary one when it cannot be
written (rather than lose an image), and the checks that a folder in the shared temporary folder
is this user's alone.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import anyio
import anyio.to_thread

RECHECK_SECONDS = 10.0
"""A folder that proved writable is trusted this long before it is probed again."""


def default_output_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """`<Pictures>/luma-agents`: the user's pictures folder, never the host's working directory."""
    home = Path(environ.get("HOME") or Path.home())
    pictures = environ.get("XDG_PICTURES_DIR", "").replace("$HOME", str(home))
    base = Path(pictures) if pictures else home / "Pictures"
    return (base if base.is_dir() else home) / "luma-agents"


def user_id() -> str:
    """This OS user, for names of per-user folders in the shared temporary folder."""
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid else os.environ.get("USERNAME", "user")


def private_folder(base: Path, relative: Path, *, create: bool) -> None:
    """Check `base/relative` step by step (creating what is missing, if asked) is this user's
    alone: real directories (no symlinks), owned by this user, with no group or other access.
    Raises `OSError` if not. For folders in the shared temporary folder, which another local user
    could make first to plant history there or swap saved names for links.

    With `create`, a folder of this user's that others could read but never write (as earlier
    versions made them) is made private: nobody else can have put anything in it."""
    getuid = getattr(os, "getuid", None)
    current = base
    for part in relative.parts:
        current = current / part
        if create:
            with contextlib.suppress(FileExistsError):
                os.mkdir(current, 0o700)
        info = os.lstat(current)
        if getuid is None:  # Windows: the temporary folder is already the user's own
            continue
        ours = stat.S_ISDIR(info.st_mode) and info.st_uid == getuid()
        if create and ours and info.st_mode & 0o077 and not info.st_mode & 0o022:
            info = _made_private(current, getuid())
        if not ours or info.st_uid != getuid() or info.st_mode & 0o077:
            raise OSError(f"{current} is not a private folder of this user (remove it)")


def _made_private(folder: Path, uid: int) -> os.stat_result:
    """Take group and other access away from `folder`, through a descriptor opened without
    following links (the name cannot be swapped for a link between the check and the change)."""
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode) and info.st_uid == uid:
            os.fchmod(descriptor, 0o700)
        return os.fstat(descriptor)
    finally:
        os.close(descriptor)


class OutputFolder:
    """The configured output folder, or a temporary one when it cannot be written.

    The temporary one is private: created mode 0700 and refused unless this user owns it with no
    access for others, since anyone can create a folder of that name first in a shared /tmp and
    plant history there. `label` keeps one workspace's fallback apart from another's (BYOK)."""

    def __init__(self, preferred: Path, *, label: str | None = None) -> None:
        self.preferred = preferred
        self._temporary = Path(tempfile.gettempdir())
        self._fallback_name = Path(f"luma-agents-mcp-{user_id()}", *([label] if label else []))
        self.fallback = self._temporary / self._fallback_name
        self._good_at: float | None = None
        """When the preferred folder last proved writable."""

    def fallback_is_private(self) -> bool:
        """Whether the temporary folder exists and is this user's alone (so its history can be
        believed: another local user could have made it first and planted entries)."""
        try:
            private_folder(self._temporary, self._fallback_name, create=False)
        except OSError:
            return False
        return True

    def contains(self, path: str | Path) -> bool:
        """Whether `path` lies inside one of the folders images are saved in (history entries name
        paths; only these are ever read back)."""
        try:
            resolved = Path(path).resolve()
        except (OSError, RuntimeError, ValueError):
            return False
        return any(resolved.is_relative_to(folder.resolve()) for folder in (self.preferred, self.fallback))

    async def writable(self) -> tuple[Path | None, str | None]:
        """The folder to save in now (None if none can be written), and a warning when it is not
        the preferred one. A good answer is kept for a few seconds (probing costs a file creation);
        a bad one is probed again every time, so a fixed folder is used at once."""
        now = time.monotonic()
        if self._good_at is not None and now - self._good_at <= RECHECK_SECONDS:
            return self.preferred, None
        answer = await anyio.to_thread.run_sync(self._writable)
        self._good_at = now if answer[0] == self.preferred else None
        return answer

    async def check(self) -> str | None:
        """At start: why the preferred folder cannot be written and where images will go instead,
        so that the user hears of it before the first paid image; None when it can be written."""
        try:
            await anyio.to_thread.run_sync(_probe, self.preferred)
        except OSError as exc:
            return (
                f"{self.preferred} cannot be written ({exc.strerror or type(exc).__name__}): images will be saved "
                f"in {self.fallback} instead, where temporary files get cleaned. Set LUMA_MCP_OUTPUT_DIR to a folder "
                "that can be written."
            )
        self._good_at = time.monotonic()
        return None

    def distrust(self) -> None:
        """Forget that the preferred folder proved writable (a save there just failed): the next
        `writable()` probes it again, and falls back if it fails."""
        self._good_at = None

    def _writable(self) -> tuple[Path | None, str | None]:
        try:
            _probe(self.preferred)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
        else:
            return self.preferred, None
        try:
            private_folder(self._temporary, self._fallback_name, create=True)
            _probe(self.fallback)
        except OSError as exc:
            return None, (
                f"Neither {self.preferred} ({reason}) nor {self.fallback} ({exc.strerror or exc}) can be written: "
                "nothing was saved, use the download link within the hour and fix LUMA_MCP_OUTPUT_DIR."
            )
        return self.fallback, (
            f"{self.preferred} cannot be written ({reason}), so images were saved in {self.fallback}. "
            "Temporary folders get cleaned: move them somewhere safe, and fix LUMA_MCP_OUTPUT_DIR."
        )


def _probe(folder: Path) -> None:
    """Raise `OSError` unless `folder` takes a file with data in it: an empty one needs no space,
    so it would pass on a full disk."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder) as file:
        file.write(b"\0")
        file.flush()
