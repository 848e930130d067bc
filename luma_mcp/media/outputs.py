"""Finished images to disk: a streamed download, capped and checked (status, type by its bytes,
the storage's MD5 where its ETag is one, that it decodes), written beside its
final name and moved there only when whole, never over another file. `SavedFile` is the one record
of a saved output, in results and history.

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
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import anyio
import anyio.to_thread
import httpx2
from pydantic import BaseModel, ConfigDict, Field

from ..errors import OutputError
from .image_threads import in_image_thread
from .sniff import EXTENSIONS, sniff_media_type

logger = logging.getLogger(__name__)

PLAIN_MD5_ETAG = re.compile(r'^"?([0-9a-f]{32})"?$')


class SavedFile(BaseModel):
    """An output written to disk, or kept in a bucket (`path` is then its `s3://bucket/key`)."""

    model_config = ConfigDict(defer_build=True)

    index: int = Field(description="Position among the generation's outputs, from 0.")
    path: str = Field(description="Where it was saved: a file's path, or an object's s3:// URI.")
    media_type: str = Field(description="MIME type of the file.")
    size_bytes: int = Field(description="Size in bytes.")
    sha256: str = Field(description="SHA-256 of the bytes, as the API served them.")
    width: int | None = Field(default=None, description="Width in pixels.")
    height: int | None = Field(default=None, description="Height in pixels.")
    label: str | None = Field(default=None, description="For layering: what the layer holds.")


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


FLUSH_BYTES = 128 * 1024
"""Downloads reach the disk in blocks this size: never whole in memory (64 at once hold 8 MB, ~10
MB less at their peak than 256 KB blocks), few thread hops (48 for a 6 MB PNG, no more CPU than 24)."""
SNIFF_BYTES = 16
"""Bytes at the head of a download that tell its type."""


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
    Hashed as it is written (SHA-256, and MD5 once `expect_md5` names the storage's), so the bytes
    are gone over once, in the worker thread that writes them. Blocking methods: each runs in a
    worker thread."""

    def __init__(self, directory: Path, stem: str) -> None:
        self.directory = directory
        self.stem = stem
        self.path: Path | None = None
        self._file: BinaryIO | None = None
        self.sha256 = hashlib.sha256()
        self._md5: Any = None
        self._expected_md5: str | None = None

    def expect_md5(self, checksum: str) -> None:
        """Check the bytes against the storage's MD5 `checksum` when committed (call before the first write)."""
        self._md5, self._expected_md5 = hashlib.md5(), checksum  # noqa: S324 - only to compare with S3's ETag

    def write(self, blocks: Sequence[bytes]) -> None:
        """Hash `blocks` and write them as they came: no copy joins them."""
        if self._file is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            descriptor, name = tempfile.mkstemp(prefix=f".{self.stem}.", suffix=".part", dir=self.directory)
            self.path, self._file = Path(name), os.fdopen(descriptor, "wb")
        for block in blocks:
            self.sha256.update(block)
            if self._md5 is not None:
                self._md5.update(block)
        self._file.writelines(blocks)

    def commit(self, blocks: Sequence[bytes], extension: str) -> tuple[Path, int, int]:
        """Write the rest, check it against the storage's MD5 (if expected) and that the image
        decodes, and move it to a name of its own."""
        self.write(blocks)
        assert self._file is not None
        assert self.path is not None
        if self._md5 is not None and self._md5.hexdigest() != self._expected_md5:
            raise OutputError("The downloaded bytes do not match the storage's checksum", retry="again")
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
    index: int = 0,
    label: str | None = None,
) -> SavedFile:
    """Stream `url` into `directory/stem.<ext>`, the extension taken from the bytes themselves;
    the record names it output `index` (with the layer's `label`, for layering).

    Checked on the way: the status, the size cap, magic bytes against the declared type, the MD5
    when the storage's ETag is one (it catches bytes changed at rest, which TLS cannot), and that
    the result decodes. Disk work runs in worker threads,
    so other calls keep flowing meanwhile. `limits` replaces the client's own (a caller whose
    deadline is near shortens it)."""
    partial: _PartialFile | None = None
    size = pending_size = 0
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
            partial = _PartialFile(directory, stem)
            async for chunk in response.aiter_bytes():  # as they arrive: re-cut, they would be copied
                size += len(chunk)
                if size > max_bytes:
                    raise OutputError(f"The image exceeds the {max_bytes}-byte download cap")
                pending.append(chunk)
                pending_size += len(chunk)
                if media_type is None and size >= SNIFF_BYTES:
                    media_type = _checked_type(_head(pending), declared_type)
                    if etag:
                        partial.expect_md5(etag.group(1))
                if pending_size >= FLUSH_BYTES and media_type is not None:
                    blocks, pending, pending_size = pending, [], 0
                    try:
                        await anyio.to_thread.run_sync(partial.write, blocks)
                    except OSError as exc:
                        raise _unwritable(directory, exc) from exc
        if media_type is None:
            if not size:
                raise OutputError("The download was empty", retry="again")
            media_type = _checked_type(_head(pending), declared_type)
        try:  # the last bytes written before the wait for an image thread: none held while it lasts
            await anyio.to_thread.run_sync(partial.write, pending)
        except OSError as exc:
            raise _unwritable(directory, exc) from exc
        del pending
        # Shielded: once the bytes are all here, a cancelled call must not leave a saved image that
        # nobody recorded (the next look would download it again under a second name).
        with anyio.CancelScope(shield=True):
            try:
                committed = await in_image_thread(partial.commit, (), EXTENSIONS[media_type])
            except OSError as exc:
                raise _unwritable(directory, exc) from exc
    except httpx2.HTTPError as exc:
        # Only the kind of failure: the library's own text can quote URLs with their signatures.
        raise OutputError(f"The image download failed ({type(exc).__name__})", retry="again") from exc
    finally:
        if committed is None and partial is not None:
            with anyio.CancelScope(shield=True):  # a cancelled call must not leave a .part file behind
                await anyio.to_thread.run_sync(partial.discard)
    assert committed is not None  # a shield with no deadline of its own is never cancelled
    assert partial is not None
    path, width, height = committed
    return SavedFile(
        index=index,
        path=str(path),
        media_type=media_type,
        size_bytes=size,
        sha256=partial.sha256.hexdigest(),
        width=width,
        height=height,
        label=label,
    )


def _unwritable(directory: Path, exc: OSError) -> OutputError:
    """A disk error while saving, as an error the caller can act on: the temporary folder may
    still take the image."""
    return OutputError(f"could not write {directory}: {exc.strerror or type(exc).__name__}", retry="fallback")


def _head(chunks: Sequence[bytes]) -> bytes:
    """The first `SNIFF_BYTES` of `chunks`, however the network cut them."""
    return b"".join(chunk[:SNIFF_BYTES] for chunk in chunks[:SNIFF_BYTES])[:SNIFF_BYTES]


def _checked_type(head: bytes, declared: str) -> str:
    actual = sniff_media_type(head)
    if actual is None:
        raise OutputError("The download is not a PNG, JPEG, WebP or GIF image")
    if declared.startswith("image/") and declared.replace("image/jpg", "image/jpeg") != actual:
        raise OutputError(f"The download says it is {declared} but its bytes are {actual}")
    return actual
