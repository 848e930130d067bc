"""Finished images to disk: download (streamed, capped, checked), browsable names, a folder that
falls back to a temporary one rather than lose an image.

Downloads never carry the API key: they go to the storage host with the URL's own signature.
Pillow is imported inside the functions that need it, to keep the server's start-up fast.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import re
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Literal

import anyio
import anyio.to_thread
import httpx2

from ..config import private_folder, user_id
from .sniff import EXTENSIONS, sniff_media_type
from .work import image_work

logger = logging.getLogger(__name__)

RECHECK_SECONDS = 10.0
PLAIN_MD5_ETAG = re.compile(r'^"?([0-9a-f]{32})"?$')

Retry = Literal["refresh", "again", "fallback", "no"]


class OutputError(Exception):
    """A finished image could not be downloaded or saved; the message says which and why.

    `retry` says what may help: `refresh` the URL (it expired or was refused), download `again`
    (the connection dropped or the bytes came damaged), save in the temporary `fallback` folder
    (this one could not be written: a full disk, no permission, a read-only file system), or
    nothing (`no`)."""

    def __init__(self, message: str, *, retry: Retry = "no") -> None:
        super().__init__(message)
        self.retry: Retry = retry


@dataclass(frozen=True)
class SavedImage:
    """An output written to disk."""

    path: Path
    media_type: str
    size_bytes: int
    sha256: str
    width: int
    height: int


def slug(text: str, max_length: int = 48) -> str:
    """Lowercase ASCII words joined by `-`: safe in a file name on every OS, never empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    result = ""
    for word in words:
        candidate = f"{result}-{word}" if result else word
        if len(candidate) > max_length:
            break
        result = candidate
    return result or "image"


def output_stem(*, created: datetime, prompt: str | None, generation_id: str, index: int) -> str:
    """`2026-11-24_red-fox-in-the-snow_d290f1ee_1`: date, prompt, short id, output number.
    Every part is sanitised, and the date comes first, so no name can climb out of the folder or
    be a reserved device name (CON, NUL, …) on Windows."""
    short_id = re.sub(r"[^0-9a-f]", "", generation_id.lower())[:8] or "unknown"
    return f"{created.astimezone(UTC):%Y-%m-%d}_{slug(prompt or 'image')}_{short_id}_{index + 1}"


def file_created(created_at: str) -> datetime:
    """The API's `created_at`, or now if it is missing or unreadable."""
    try:
        parsed = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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

    def holds(self, path: str | Path) -> bool:
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


def _reserve(directory: Path, stem: str, extension: str) -> Path:
    """A path that did not exist, created empty so no concurrent save can take it."""
    for attempt in range(1, 1000):
        name = f"{stem}.{extension}" if attempt == 1 else f"{stem}-{attempt}.{extension}"
        path = directory / name
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            continue
        return path
    raise OutputError(f"No free file name for {stem} in {directory}")


def _check_decodes(path: Path) -> tuple[int, int]:
    """Pixel size, after checking the file decodes (PNG chunk CRCs, JPEG markers)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            size = image.size
            image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise OutputError(f"The downloaded image is damaged ({exc})", retry="again") from exc
    return size


FLUSH_BYTES = 1024 * 1024
"""Downloads reach the disk in blocks this size: never whole in memory, few thread hops."""


@functools.cache
def _umask() -> int:
    """This process's umask, read once. Linux gives it in /proc; elsewhere it can only be read by
    setting another for an instant, so that one is strict: a file another thread creates then is
    made more private, never less."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


class _PartialFile:
    """A download on its way to disk, as `.<stem>.<random>.part` beside its final name: a name of
    its own (created exclusively), so two processes saving the same image never write one file.
    Blocking methods: each runs in a worker thread."""

    def __init__(self, directory: Path, stem: str) -> None:
        self.directory = directory
        self.stem = stem
        self.path: Path | None = None
        self._file: BinaryIO | None = None

    def write(self, data: bytes) -> None:
        if self._file is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            descriptor, name = tempfile.mkstemp(prefix=f".{self.stem}.", suffix=".part", dir=self.directory)
            self.path, self._file = Path(name), os.fdopen(descriptor, "wb")
        self._file.write(data)

    def commit(self, data: bytes, extension: str) -> tuple[Path, int, int]:
        """Write the rest, check the image decodes, and move it to a name of its own."""
        self.write(data)
        assert self._file is not None
        assert self.path is not None
        if sys.platform != "win32":
            # mkstemp made it private; a saved image is an ordinary file, as the user's umask has
            # them. Set on the open file, never by name once it is in place: in a folder others can
            # write, that name could be a link to one of the user's files by then.
            with contextlib.suppress(OSError):  # a file system that keeps its own modes: the image matters more
                os.fchmod(self._file.fileno(), 0o666 & ~_umask())
        # (Windows: mkstemp's mode only decides the read-only flag, which it leaves off; access
        # comes from the folder's ACL.)
        self._file.close()
        width, height = _check_decodes(self.path)
        path = _reserve(self.directory, self.stem, extension)
        try:
            self.path.replace(path)
        except OSError:
            path.unlink(missing_ok=True)  # the name reserved for it: no empty image left in the folder
            raise
        self.path = None
        return path, width, height

    def discard(self) -> None:
        """Remove the partial file. Never raises: it runs while the error (or cancellation) that
        ended the download is on its way, which must reach the caller as it was."""
        try:
            if self._file is not None:
                with contextlib.suppress(OSError):  # its last bytes failing to flush: unwanted anyway
                    self._file.close()
            if self.path is not None:
                self.path.unlink(missing_ok=True)
        except OSError as exc:
            logger.warning("could not remove %s: %s", self.path, exc.strerror or type(exc).__name__)


async def download(
    http: httpx2.AsyncClient,
    url: str,
    directory: Path,
    stem: str,
    *,
    max_bytes: int,
    limits: httpx2.Timeout | None = None,
) -> SavedImage:
    """Stream `url` into `directory/stem.<ext>`, the extension taken from the bytes themselves.

    Checked on the way: the status, the size cap, magic bytes against the declared type, the MD5
    when the storage's ETag is one, and that the result decodes. Disk work runs in worker threads,
    so other calls keep flowing meanwhile. `limits` replaces the client's own (a caller whose
    deadline is near shortens it)."""
    partial = _PartialFile(directory, stem)
    digest, md5 = hashlib.sha256(), hashlib.md5()  # noqa: S324 - MD5 only to compare with S3's ETag
    size = 0
    media_type: str | None = None
    pending: list[bytes] = []
    committed: tuple[Path, int, int] | None = None
    try:
        async with http.stream("GET", url, headers={"Accept": "image/*"}, timeout=limits or http.timeout) as response:
            if response.status_code in (403, 404):
                raise OutputError(f"The image link answered HTTP {response.status_code}", retry="refresh")
            if response.status_code != 200:
                raise OutputError(f"The image link answered HTTP {response.status_code}", retry="again")
            declared = int(response.headers.get("content-length") or 0)
            if declared > max_bytes:
                raise OutputError(f"The image is {declared} bytes, over the {max_bytes}-byte download cap")
            declared_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            etag = PLAIN_MD5_ETAG.match(response.headers.get("etag", ""))
            async for chunk in response.aiter_bytes(chunk_size=65536):
                if media_type is None:
                    media_type = _checked_type(chunk[:16], declared_type)
                size += len(chunk)
                if size > max_bytes:
                    raise OutputError(f"The image exceeds the {max_bytes}-byte download cap")
                digest.update(chunk)
                md5.update(chunk)
                pending.append(chunk)
                if sum(len(p) for p in pending) >= FLUSH_BYTES:
                    block, pending = b"".join(pending), []
                    try:
                        await anyio.to_thread.run_sync(partial.write, block)
                    except OSError as exc:
                        raise _unwritable(directory, exc) from exc
        if media_type is None:
            raise OutputError("The download was empty", retry="again")
        if etag and etag.group(1) != md5.hexdigest():
            raise OutputError("The downloaded bytes do not match the storage's checksum", retry="again")
        # Shielded: once the bytes are all here, a cancelled call must not leave a saved image that
        # nobody recorded (the next look would download it again under a second name).
        with anyio.CancelScope(shield=True):
            try:
                committed = await image_work(partial.commit, b"".join(pending), EXTENSIONS[media_type])
            except OSError as exc:
                raise _unwritable(directory, exc) from exc
    except httpx2.HTTPError as exc:
        # Only the kind of failure: the library's own text can quote URLs with their signatures.
        raise OutputError(f"The image download failed ({type(exc).__name__})", retry="again") from exc
    finally:
        if committed is None:
            with anyio.CancelScope(shield=True):  # a cancelled call must not leave a .part file behind
                await anyio.to_thread.run_sync(partial.discard)
    assert committed is not None  # a shield with no deadline of its own is never cancelled
    path, width, height = committed
    return SavedImage(path, media_type, size, digest.hexdigest(), width, height)


def _unwritable(directory: Path, exc: OSError) -> OutputError:
    """A disk error while saving, as an error the caller can act on: the temporary folder may
    still take the image."""
    return OutputError(f"could not write {directory}: {exc.strerror or type(exc).__name__}", retry="fallback")


def _checked_type(head: bytes, declared: str) -> str:
    actual = sniff_media_type(head)
    if actual is None:
        raise OutputError("The download is not a PNG, JPEG, WebP or GIF image")
    if declared.startswith("image/") and declared.replace("image/jpg", "image/jpeg") != actual:
        raise OutputError(f"The download says it is {declared} but its bytes are {actual}")
    return actual
