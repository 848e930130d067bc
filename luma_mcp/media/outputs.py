"""Finished images: download (streamed, capped, checked), save under a browsable name, preview.

Downloads never carry the API key: they go to the storage host with the URL's own signature.
Pillow is imported inside the functions that need it, to keep the server's start-up fast.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anyio
import anyio.to_thread
import httpx2

MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
PREVIEW_BUDGET_BYTES = 700_000
"""An inline preview's ceiling: Claude Desktop refuses results over 1 MB, and base64 adds a third."""
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


class OutputError(Exception):
    """A finished image could not be downloaded or saved; the message says which and why."""


@dataclass(frozen=True)
class SavedImage:
    """An output written to disk."""

    path: Path
    media_type: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class Preview:
    """A small rendition of an output, for the model to look at."""

    data: bytes
    media_type: str
    width: int
    height: int
    source_width: int
    source_height: int


def sniff_media_type(head: bytes) -> str | None:
    """PNG, JPEG, WebP or GIF from the first bytes; None for anything else."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def slug(text: str, max_length: int = 48) -> str:
    """Lowercase ASCII words joined by `-`: safe in a file name on every OS."""
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
    """`2026-11-24_red-fox-in-the-snow_d290f1ee_1`: date, prompt, short id, output number."""
    short_id = re.sub(r"[^0-9a-f]", "", generation_id.lower())[:8] or "unknown"
    return f"{created.astimezone(UTC):%Y-%m-%d}_{slug(prompt or 'image')}_{short_id}_{index + 1}"


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


async def download(
    http: httpx2.AsyncClient, url: str, directory: Path, stem: str, *, max_bytes: int = MAX_DOWNLOAD_BYTES
) -> SavedImage:
    """Stream `url` into `directory/stem.<ext>`, the extension taken from the bytes themselves.
    Disk work goes through worker threads, so other calls keep flowing meanwhile."""
    folder = anyio.Path(directory)
    await folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{stem}.part"
    digest = hashlib.sha256()
    size = 0
    media_type: str | None = None
    try:
        async with http.stream("GET", url, headers={"Accept": "image/*"}) as response:
            if response.status_code != 200:
                raise OutputError(f"The image download answered HTTP {response.status_code}")
            declared = int(response.headers.get("content-length") or 0)
            if declared > max_bytes:
                raise OutputError(f"The image is {declared} bytes, over the {max_bytes}-byte download cap")
            async with await anyio.open_file(partial, "wb") as file:
                async for chunk in response.aiter_bytes(chunk_size=65536):
                    if media_type is None:
                        media_type = sniff_media_type(chunk[:16])
                        if media_type is None:
                            raise OutputError("The download is not a PNG, JPEG, WebP or GIF image")
                    size += len(chunk)
                    if size > max_bytes:
                        raise OutputError(f"The image exceeds the {max_bytes}-byte download cap")
                    digest.update(chunk)
                    await file.write(chunk)
        if media_type is None:
            raise OutputError("The download was empty")
        path = await anyio.to_thread.run_sync(_reserve, directory, stem, EXTENSIONS[media_type])
        await partial.replace(path)
    except httpx2.HTTPError as exc:
        raise OutputError(f"The image download failed ({type(exc).__name__}: {exc})") from exc
    finally:
        await partial.unlink(missing_ok=True)
    return SavedImage(path, media_type, size, digest.hexdigest())


def make_preview(path: Path, *, max_edge: int, budget: int = PREVIEW_BUDGET_BYTES) -> Preview:
    """A JPEG (WebP where there is transparency) with the long edge at most `max_edge`, shrunk
    in quality and then size until it fits `budget` bytes. Blocking: run it in a worker thread."""
    from PIL import Image

    with Image.open(path) as source:
        source_size = source.size
        source.draft("RGB", (max_edge, max_edge))  # JPEG decodes at a reduced scale: much faster
        image = source.convert("RGBA" if _has_alpha(source) else "RGB")
    image.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
    fmt, media_type = ("WEBP", "image/webp") if image.mode == "RGBA" else ("JPEG", "image/jpeg")
    quality = 85
    while True:
        buffer = io.BytesIO()
        image.save(buffer, fmt, quality=quality)
        data = buffer.getvalue()
        if len(data) <= budget or max(image.size) <= 64:
            return Preview(data, media_type, image.width, image.height, *source_size)
        if quality > 50:
            quality -= 15
        else:
            image.thumbnail((int(image.width * 0.75), int(image.height * 0.75)), Image.Resampling.LANCZOS)


def _has_alpha(image: object) -> bool:
    mode = getattr(image, "mode", "")
    info = getattr(image, "info", {})
    return mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in info)


def file_created(created_at: str) -> datetime:
    """The API's `created_at`, or now if it is missing or unreadable."""
    try:
        return datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
