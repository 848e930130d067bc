"""Image inputs, from wherever the agent has them, checked before any paid request.

`ImageInput` is what tools take (exactly one of url, path, data, generation_id, file_id); its own
validation needs no I/O. `InputResolver` then turns each into an API image ref: URLs, generation
ids and file ids pass through; local files are read only inside the allowed folders (symlinks
resolved, hidden folders refused, network and device paths refused by their text, the type sniffed,
the size capped); and images above the upload threshold go through the Files API, once per content
while that upload lives.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import stat
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import anyio
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from ..api.models import MAX_INPUT_BYTES, ImageRef, StoredFile
from .sniff import EXTENSIONS, sniff_media_type
from .work import image_work

MediaType = Literal["image/png", "image/jpeg", "image/webp", "image/gif"]
KINDS = ("url", "path", "data", "generation_id", "file_id")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DATA_URI = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?:;[\w=-]+)*;base64,$")
WINDOWS_DRIVE = re.compile(r"^(?P<drive>[A-Za-z]):[\\/](?P<rest>.*)$")
URL_DRIVE = re.compile(r"^/[A-Za-z]:[\\/]")
BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
FILE_LIFETIME = 7 * 24 * 3600.0
"""How long an upload lives when the Files API does not say: the emulator's default [guess]."""
LOOP_WORK_BYTES = 256 * 1024
"""Hashing or decoding less than this is quicker on the event loop than a hop to a worker thread."""
REUSE_MARGIN = 24 * 3600.0
"""An uploaded file_id is handed out again only while it has this long left: the agent may keep
it a while, and a generation that names an expired file is refused."""


@dataclass(frozen=True)
class InlineImage:
    """A `data` input, checked but not decoded: its base64 text, type and decoded size."""

    base64: str
    """Without any `data:` prefix."""
    media_type: str
    size: int

    def decode(self) -> bytes:
        """The bytes. Blocking for a large image: run it in a worker thread."""
        return binascii.a2b_base64(self.base64)


class ImageInput(BaseModel):
    """An image: give exactly one of url, path, data, generation_id or file_id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(default=None, description="Public http(s) URL of the image (file:// URLs count as paths).")
    path: str | None = Field(
        default=None, description="A local image file, e.g. ~/Pictures/cat.png; it must be inside the allowed folders."
    )
    data: str | None = Field(
        default=None, description="The image as base64 (or a data: URI); set media_type unless it is a data: URI."
    )
    media_type: MediaType | None = Field(default=None, description="MIME type of data.")
    generation_id: str | None = Field(
        default=None, description="generation_id of an earlier result from these tools, to use its image."
    )
    file_id: str | None = Field(default=None, description="file_id from upload_image (or the Luma Files API).")
    _inline: InlineImage | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_kind(self) -> ImageInput:
        given = [kind for kind in KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            got = f"got {' and '.join(given)}" if given else "got none"
            raise ValueError(f"give exactly one of url, path, data, generation_id or file_id ({got})")
        if self.url is not None and not re.match(r"^(https?|file)://", self.url, re.IGNORECASE):
            raise ValueError(f"url must start with https:// or http:// (got {self.url[:40]!r})")
        if self.url is not None and self.url.lower().startswith("file://"):
            host = urlsplit(self.url).netloc
            if host not in ("", "localhost"):
                raise ValueError(
                    f"url names a file on {host[:40]!r}, and only local files are read; copy it to this machine "
                    "and give its path (file:///path)"
                )
        if self.path is not None and not self.path.strip():
            raise ValueError("path is empty")
        if self.generation_id is not None and not UUID.match(self.generation_id):
            example = "d290f1ee-6c54-4b01-90e6-d701748f0851"
            raise ValueError(f"generation_id must be a UUID like {example} (got {self.generation_id[:40]!r})")
        self._inline = inline_data(self.data, self.media_type)
        return self

    @property
    def local_path(self) -> str | None:
        """The path to read, from `path` or a `file://` URL."""
        if self.path is not None:
            return self.path
        if self.url is not None and self.url.lower().startswith("file://"):
            path = unquote(urlsplit(self.url).path)
            # file:///C:/Users/me/cat.png names C:/Users/me/cat.png, not a folder "C:" under the root.
            return path[1:] if URL_DRIVE.match(path) else path
        return None

    @property
    def inline(self) -> InlineImage | None:
        """The checked `data`, if that is what was given."""
        return self._inline


def inline_data(data: str | None, media_type: str | None) -> InlineImage | None:
    """A `data` argument and its `media_type`, checked (None when no data was given)."""
    if data is None:
        if media_type is not None:
            raise ValueError("media_type goes with data only; remove it")
        return None
    return check_data(data, media_type)


def check_data(text: str, media_type: str | None) -> InlineImage:
    """Check a `data` input (base64, or a `data:` URI that names its type) without decoding it all:
    argument validation runs on the event loop, and a 50 MB image is 67 MB of base64. The base64 is
    checked whole (alphabet, padding, length), the size follows from its length, and only the first
    bytes are decoded, to see what the image is."""
    payload, declared = text, media_type
    if text.startswith("data:"):
        comma = text.find(",", 0, 300)
        header = DATA_URI.match(text[: comma + 1]) if comma >= 0 else None
        if header is not None:
            payload, declared = text[comma + 1 :], media_type or header.group("type")
    if declared is None:
        raise ValueError('media_type is required with data, e.g. "image/png"')
    padding = 2 if payload.endswith("==") else 1 if payload.endswith("=") else 0
    size = len(payload) // 4 * 3 - padding
    if size > MAX_INPUT_BYTES:
        raise ValueError(f"the image is {size} bytes; the API takes at most 50 MB")
    # What a strict decode takes: whole groups of four, the alphabet, '=' only at the end.
    if (
        len(payload) % 4
        or not payload.isascii()
        or payload.encode("ascii").translate(None, BASE64_ALPHABET) != b"=" * padding
    ):
        raise ValueError("data is not valid base64")
    head = binascii.a2b_base64(payload[:88])  # 66 bytes: enough to tell the type, or what else it is
    actual = sniff_media_type(head[:16])
    if actual is None:
        raise ValueError(f"data is not a PNG, JPEG, WebP or GIF image{_what_it_is(head)}")
    if actual != declared.lower():
        raise ValueError(f"media_type says {declared} but the data is {actual}; set media_type to {actual}")
    return InlineImage(payload, actual, size)


class InputError(Exception):
    """An image input cannot be used; nothing was sent."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def _what_it_is(head: bytes) -> str:
    """A hint for common non-images, so the fix is obvious."""
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
        return " (it is HEIC/AVIF: convert it to JPEG or PNG first)"
    if head.startswith(b"%PDF"):
        return " (it is a PDF)"
    if head.lstrip().startswith((b"<svg", b"<?xml")):
        return " (it is SVG: export it to PNG first)"
    return ""


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


def local_path(raw: str) -> Path:
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
    remote = remote_path_problem(raw)
    if remote is not None:
        raise InputError(field, remote)
    try:
        # Links resolved as far as the path exists; confinement is checked before existence, so
        # nothing about files outside the allowed folders can be learned from the answers.
        resolved = local_path(raw).resolve(strict=False)
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
        raise InputError(field, f"{raw} is not a PNG, JPEG, WebP or GIF image{_what_it_is(data[:64])}")
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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def _digest(data: bytes) -> str:
    return _sha256(data) if len(data) < LOOP_WORK_BYTES else await image_work(_sha256, data)


async def _decoded(inline: InlineImage) -> bytes:
    """Decoded once, where it is needed, off the event loop unless small."""
    return inline.decode() if inline.size < LOOP_WORK_BYTES else await image_work(inline.decode)


Uploader = Callable[[bytes, str, str, float], Awaitable[StoredFile]]
"""(bytes, media type, file name, deadline on the client's clock) → the ready upload."""


@dataclass(frozen=True)
class Upload:
    file_id: str
    media_type: str
    size_bytes: int
    sha256: str
    reused: bool


@dataclass(frozen=True)
class _Known:
    file_id: str
    reuse_until: float
    """On the resolver's clock: the file's expiry less `REUSE_MARGIN`."""


class _InFlight:
    """One content being uploaded: callers with the same bytes wait for it, then reuse it."""

    def __init__(self) -> None:
        self.lock = anyio.Lock()
        self.callers = 0


class InputResolver:
    def __init__(
        self,
        *,
        allowed_dirs: list[Path],
        upload_threshold: int,
        uploader: Uploader,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._allowed = allowed_dirs
        self._threshold = upload_threshold
        self._uploader = uploader
        self._clock = clock
        self._uploads: dict[str, _Known] = {}
        """SHA-256 of content → its upload, so the same image is uploaded once while that lives."""
        self._in_flight: dict[str, _InFlight] = {}

    async def resolve(self, field: str, image: ImageInput, *, deadline: float) -> ImageRef:
        """The API's form of one input; large local or inline images are uploaded first, by
        `deadline` (the call's, on the client's clock)."""
        raw, inline = image.local_path, image.inline
        if raw is not None:
            data, media_type, resolved = await image_work(read_local_image, field, raw, self._allowed)
            name = resolved.name
        elif inline is not None:
            if inline.size <= self._threshold:
                return ImageRef(data=inline.base64, media_type=inline.media_type)  # as given: nothing to decode
            data, media_type = await _decoded(inline), inline.media_type
            name = f"{field}.{EXTENSIONS[media_type]}"
        else:
            return ImageRef(url=image.url, generation_id=image.generation_id, file_id=image.file_id)
        if len(data) <= self._threshold:
            return ImageRef(data=base64.b64encode(data).decode(), media_type=media_type)
        return ImageRef(file_id=(await self.upload(data, media_type, name, deadline=deadline)).file_id)

    async def resolve_all(self, inputs: list[tuple[str, ImageInput]], *, deadline: float) -> tuple[ImageRef, ...]:
        return tuple([await self.resolve(field, image, deadline=deadline) for field, image in inputs])

    async def read(self, field: str, *, path: str | None, inline: InlineImage | None) -> tuple[bytes, str, str]:
        """Bytes, media type and a file name of a path or checked data (for upload_image)."""
        if path is not None:
            data, media_type, resolved = await image_work(read_local_image, field, path, self._allowed)
            return data, media_type, resolved.name
        if inline is not None:
            return await _decoded(inline), inline.media_type, f"upload.{EXTENSIONS[inline.media_type]}"
        raise InputError(field, "give a path or data to upload")

    async def upload(self, data: bytes, media_type: str, name: str, *, deadline: float) -> Upload:
        """Upload once per content: a second caller with the same bytes waits for the first and
        reuses its file_id, until the file is near its expiry."""
        digest = await _digest(data)
        flight = self._in_flight.setdefault(digest, _InFlight())
        flight.callers += 1
        try:
            async with flight.lock:
                known = self._uploads.get(digest)
                if known is not None and self._clock() < known.reuse_until:
                    return Upload(known.file_id, media_type, len(data), digest, reused=True)
                started = self._clock()
                stored = await self._uploader(data, media_type, name, deadline)
                lifetime = stored.lifetime if stored.lifetime is not None else FILE_LIFETIME
                self._uploads = {key: kept for key, kept in self._uploads.items() if kept.reuse_until > started}
                self._uploads[digest] = _Known(stored.id, started + lifetime - REUSE_MARGIN)
                return Upload(stored.id, media_type, len(data), digest, reused=False)
        finally:
            flight.callers -= 1
            if not flight.callers:
                del self._in_flight[digest]
