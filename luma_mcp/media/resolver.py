"""`InputResolver`: image inputs into what the API takes. URLs, generation ids and file ids pass
through; local files and inline data go inline as base64 up to the upload threshold, and through
the Files API above it, once per content while that upload lives (parallel calls with the same
bytes share one upload; the `UploadCache`, the account's part of the store, remembers it for every
process on that store).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anyio

from ..api.models import ImageRef, StoredFile
from ..errors import InputError, StoreError
from .image_input import ImageInput, InlineImage
from .image_threads import in_image_thread
from .local_files import read_local_image
from .sniff import EXTENSIONS

logger = logging.getLogger(__name__)

FILE_LIFETIME = 7 * 24 * 3600.0
"""How long an upload lives when the Files API does not say: the emulator's default [guess]."""
LOOP_WORK_BYTES = 256 * 1024
"""Hashing or decoding less than this is quicker on the event loop than a hop to a worker thread."""
REUSE_MARGIN = 24 * 3600.0
"""An uploaded file_id is handed out again only while it has this long left: the agent may keep
it a while, and a generation that names an expired file is refused."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def _digest(data: bytes) -> str:
    return _sha256(data) if len(data) < LOOP_WORK_BYTES else await in_image_thread(_sha256, data)


async def _decoded(inline: InlineImage) -> bytes:
    """Decoded once, where it is needed, off the event loop unless small."""
    return inline.decode() if inline.size < LOOP_WORK_BYTES else await in_image_thread(inline.decode)


OutputFetcher = Callable[[str, int, float], Awaitable[tuple[bytes, str, str] | None]]
"""(generation_id, output index, deadline) → that output's bytes, media type and a file name;
None where the API's own `generation_id` reference means that output."""

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
class Resolved:
    """A call's input images in the API's form, and what the caller should be told of them."""

    refs: tuple[ImageRef, ...]
    notes: tuple[str, ...] = ()


class UploadCache(Protocol):
    """Content hash → the `file_id` of its upload, while it may be handed out (on the wall clock)."""

    async def upload(self, digest: str, now: float) -> str | None: ...

    async def remember_upload(self, digest: str, file_id: str, until: float, now: float) -> None: ...


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
        cache: UploadCache,
        outputs: OutputFetcher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`cache` remembers uploads by content, on `clock` (the wall clock, shared between
        processes); `outputs` fetches one output of an earlier generation (for `output_index`)."""
        self._outputs = outputs
        self._allowed = allowed_dirs
        self._threshold = upload_threshold
        self._uploader = uploader
        self._clock = clock
        self._cache = cache
        self._in_flight: dict[str, _InFlight] = {}

    async def resolve(
        self, field: str, image: ImageInput, *, deadline: float, notes: list[str] | None = None
    ) -> ImageRef:
        """The API's form of one input; large local or inline images are uploaded first, by
        `deadline` (the call's, on the client's clock). What the caller should know of it (an
        output sent as its image) is added to `notes`."""
        raw, inline = image.local_path, image.inline
        fetched = await self._output(field, image, deadline)
        if fetched is not None:
            data, media_type, name = fetched
            (notes if notes is not None else []).append(
                f"{field}: output {image.output_index} of generation {image.generation_id} was sent as its image "
                "(the API's generation_id reference cannot say which output of a job of several is meant)"
            )
        elif raw is not None:
            data, media_type, resolved = await in_image_thread(read_local_image, field, raw, self._allowed)
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

    async def resolve_all(self, inputs: list[tuple[str, ImageInput]], *, deadline: float) -> Resolved:
        """Every input of a call, in order (so the first one's errors come first)."""
        notes: list[str] = []
        refs = [await self.resolve(field, image, deadline=deadline, notes=notes) for field, image in inputs]
        return Resolved(tuple(refs), tuple(notes))

    async def _output(self, field: str, image: ImageInput, deadline: float) -> tuple[bytes, str, str] | None:
        """The image of the output an input picks by `output_index`, where it must be sent as one."""
        if image.generation_id is None or image.output_index is None:
            return None
        if self._outputs is None:
            raise InputError(field, "output_index is not available here; give the output's image as data instead")
        try:
            return await self._outputs(image.generation_id, image.output_index, deadline)
        except InputError as exc:
            raise InputError(field, str(exc)) from exc

    async def read(self, field: str, *, path: str | None, inline: InlineImage | None) -> tuple[bytes, str, str]:
        """Bytes, media type and a file name of a path or checked data (for upload_image)."""
        if path is not None:
            data, media_type, resolved = await in_image_thread(read_local_image, field, path, self._allowed)
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
                started = self._clock()
                try:
                    known = await self._cache.upload(digest, started)
                except StoreError as exc:  # an upload is free: sent again rather than fail the call
                    logger.warning("the upload cache could not be read, so %s is uploaded again: %s", name, exc)
                    known = None
                if known is not None:
                    return Upload(known, media_type, len(data), digest, reused=True)
                stored = await self._uploader(data, media_type, name, deadline)
                lifetime = stored.lifetime if stored.lifetime is not None else FILE_LIFETIME
                try:
                    await self._cache.remember_upload(digest, stored.id, started + lifetime - REUSE_MARGIN, started)
                except StoreError as exc:
                    logger.warning("the upload cache could not note %s: %s", stored.id, exc)
                return Upload(stored.id, media_type, len(data), digest, reused=False)
        finally:
            flight.callers -= 1
            if not flight.callers:
                del self._in_flight[digest]
