"""Getting a completed generation's images within a call's time: each output downloaded (by
`media.outputs.download`), once more if the connection drops or the bytes come damaged, after a
fresh link if the link was refused (expired), and what became of each one noted as it ends."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from ..api import Generation, LumaClient, SharedHttpClient, timeout_within
from ..errors import LumaError, OutputError
from ..media.outputs import SavedFile, download

logger = logging.getLogger(__name__)

OUT_OF_TIME = "Not downloaded within this call's time (hosts drop longer calls); get_generation saves it."
OUT_OF_TIME_UNKEPT = "Not downloaded within this call's time, so no preview; the link holds the image for an hour."


@dataclass
class Downloads:
    """What became of a generation's outputs, filled in as each download ends: a call cancelled
    part way still knows (and records) what it saved."""

    generation: Generation
    """As last seen: its links are replaced by fresh ones as they expire."""
    saved: dict[int, SavedFile] = field(default_factory=dict[int, SavedFile])
    errors: dict[int, str] = field(default_factory=dict[int, str])
    """Why each output not saved was not."""
    unwritable: set[int] = field(default_factory=set[int])
    """The outputs the folder would not take (a full disk, no permission): another may."""
    local: dict[int, Path] = field(default_factory=dict[int, Path])
    """Where saved outputs kept elsewhere (a bucket) were spooled on this machine, for previews."""


class _OutOfTimeError(Exception):
    """The call's time to save ran out before a download (or its retry) could begin."""


class Downloader:
    def __init__(self, client: LumaClient, http: SharedHttpClient, *, max_bytes: int) -> None:
        """`client` asks for fresh links; `http` carries the downloads (never the key)."""
        self._client = client
        self._http = http
        self._max_bytes = max_bytes

    def now(self) -> float:
        """The client's clock, which deadlines are on."""
        return self._client.time.monotonic()

    async def download_each(
        self,
        downloads: Downloads,
        indexes: Sequence[int],
        folder: Path,
        stem: Callable[[int], str],
        finish_by: float,
        *,
        out_of_time: str = OUT_OF_TIME,
    ) -> None:
        """Download the outputs at `indexes` into `folder`, by `finish_by`, noting in `downloads`
        what became of each. Never raises but for cancellation: a paid image's id and URL must
        reach the caller."""
        generation_id = downloads.generation.id
        # The downloads bound their own waits to `finish_by` on the client's clock; this is the
        # backstop on the real one, for a link that trickles bytes just fast enough.
        with anyio.move_on_after(max(finish_by - self._client.time.monotonic(), 0.0)):
            for index in indexes:
                try:
                    downloads.saved[index] = await self._download(downloads, index, folder, stem(index), finish_by)
                except _OutOfTimeError:
                    break  # this output and the rest: said below
                except OutputError as exc:
                    downloads.errors[index] = str(exc)
                    if exc.retry == "fallback":
                        downloads.unwritable.add(index)
                    logger.warning("could not save %s output %d: %s", generation_id, index, exc)
                except Exception as exc:
                    downloads.errors[index] = f"unexpected error while saving ({type(exc).__name__})"
                    logger.exception("could not save %s output %d", generation_id, index)
        for index in indexes:
            if index not in downloads.saved and index not in downloads.errors:
                downloads.errors[index] = out_of_time

    async def _download(self, downloads: Downloads, index: int, folder: Path, stem: str, finish_by: float) -> SavedFile:
        """Download one output by `finish_by`: once more if the connection drops or the bytes come
        damaged, and after a GET for a fresh link if the link was refused (expired). A fresh link
        replaces the old in `downloads`, even when the download fails after all."""
        generation = downloads.generation
        http = await self._http.get()
        tried_again = refreshed = False
        while True:
            remaining = finish_by - self._client.time.monotonic()
            if remaining <= 0:
                raise _OutOfTimeError
            output = generation.output[index]
            try:
                return await download(
                    http,
                    output.url,
                    folder,
                    stem,
                    max_bytes=self._max_bytes,
                    limits=timeout_within(http.timeout, remaining),
                    index=index,
                    label=output.layer.label if output.layer else None,
                )
            except OutputError as exc:
                if exc.retry == "again" and not tried_again:
                    tried_again = True
                    logger.warning("download of %s output %d failed (%s); trying again", generation.id, index, exc)
                    continue
                if exc.retry == "refresh" and not refreshed:
                    refreshed = True
                    logger.warning(
                        "download link of %s output %d refused (%s); asking for a fresh one", generation.id, index, exc
                    )
                    try:
                        fresh = await self._client.get(generation.id, deadline=finish_by)
                    except LumaError as refresh_error:
                        raise OutputError(f"{exc}, and no fresh link could be had: {refresh_error}") from refresh_error
                    if fresh.state == "completed" and index < len(fresh.output):
                        generation = downloads.generation = fresh
                        continue
                raise
