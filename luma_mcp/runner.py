"""`GenerationRunner`: a generation from request to saved file. Submit, wait within a budget
while reporting progress, then download and save each output once, keep the history, and preview.

Nothing paid for is lost: a completed image is saved (in a temporary folder if the chosen one
cannot be written), a download that drops is tried again, an expired link is refreshed, and when
saving fails anyway the result still carries the generation id and a working link.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import anyio

from .api import (
    Generation,
    GenerationOutput,
    GenerationRequest,
    ImageRef,
    LumaClient,
    LumaError,
    SharedHttpClient,
)
from .config import PreviewMode, Settings
from .history import History, HistoryEntry, InputRecord, SavedFile
from .media.outputs import OutputError, OutputFolder, SavedImage, download, file_created, output_stem
from .media.previews import Preview, make_previews
from .media.work import image_work

logger = logging.getLogger(__name__)

UNFINISHED_REUSE_SECONDS = 3600.0
"""How long a job not yet seen finished may be handed to an identical request (jobs take ~1 min)."""
LOOK_SECONDS = 10.0
"""The least time a single look (get_generation) may spend on retries."""

Progress = Callable[[float, float | None, str], Awaitable[None]]
"""Receives (progress, total, message); progress only ever increases."""


async def no_progress(progress: float, total: float | None, message: str) -> None:
    """A `Progress` for callers that do not show any."""


@dataclass(frozen=True)
class FinishedOutput:
    """One output of a completed generation, as far as we got with it."""

    index: int
    output: GenerationOutput
    saved: SavedFile | None
    preview: Preview | None
    error: str | None = None
    """Why it was not saved (the URL still works for an hour; `get_generation` tries again)."""


@dataclass(frozen=True)
class Report:
    """Where a generation stands after a tool call."""

    generation: Generation
    prompt: str | None
    outputs: tuple[FinishedOutput, ...] = ()
    waited_seconds: float | None = None
    warnings: tuple[str, ...] = ()
    reused_after: float | None = None
    """Seconds since the identical request whose generation this is (None: a new generation)."""
    files_kept: bool = True
    """False where this server keeps no files (HTTP by default): the links are the images."""


@dataclass
class _Submitted:
    """A generation this server created, remembered so an identical request can reuse it."""

    generation_id: str
    at: float
    finished_at: float | None = None


def _exists(path: str) -> bool:
    # A stat takes microseconds: cheaper in place than a trip to a worker thread.
    return os.path.isfile(path)


def request_key(request: GenerationRequest) -> str:
    """Identical requests (same prompt, settings and input images) have the same key."""
    return hashlib.sha256(json.dumps(request.payload(), sort_keys=True).encode()).hexdigest()


def _input_records(request: GenerationRequest) -> list[InputRecord]:
    refs: list[tuple[str, ImageRef]] = [("source", request.source)] if request.source else []
    refs += [(f"image_ref[{i}]", ref) for i, ref in enumerate(request.image_ref)]
    records: list[InputRecord] = []
    for field, ref in refs:
        if ref.data is not None:
            records.append(InputRecord(field=field, kind="data", media_type=ref.media_type))
        else:
            kind, value = next((k, v) for k, v in (("url", ref.url), ("generation_id", ref.generation_id),
                                                   ("file_id", ref.file_id)) if v is not None)  # fmt: skip
            records.append(InputRecord(field=field, kind=kind, value=value))
    return records


class GenerationRunner:
    def __init__(
        self,
        client: LumaClient,
        http: SharedHttpClient,
        settings: Settings,
        *,
        folder: Path | None = None,
        on_saved: Callable[[HistoryEntry], None] | None = None,
    ) -> None:
        self._client = client
        self._http = http
        self._settings = settings
        self._keep_files = settings.keeps_files
        self._folder = OutputFolder(folder or settings.output_dir)
        # Without kept files there is no history on disk either: what was made lives in memory.
        logs = [self._folder.preferred, self._folder.fallback] if self._keep_files else []
        self.history = History(logs)
        self._on_saved = on_saved
        self._locks: dict[str, anyio.Lock] = {}
        self._submitted: dict[str, _Submitted] = {}
        self._submit_locks: dict[str, anyio.Lock] = {}

    def now(self) -> float:
        """The client's clock, for callers that start a call's budget before `run` (uploads)."""
        return self._client.time.monotonic()

    async def run(
        self,
        request: GenerationRequest,
        progress: Progress = no_progress,
        *,
        preview: PreviewMode | None = None,
        started: float | None = None,
        new_variation: bool = False,
    ) -> Report:
        """Submit `request` and wait for the image, all within the configured budget from `started`
        (the host drops calls that run longer, and a dropped call loses the id of a paid job).

        An identical request while the first is running, or shortly after it finished, gets that
        generation back instead of paying again (agents retry calls their host timed out);
        `new_variation` asks for a new image on purpose."""
        deadline = (self.now() if started is None else started) + self._settings.wait_seconds
        key = request_key(request)
        generation: Generation | None = None
        async with self._submit_locks.setdefault(key, anyio.Lock()):  # identical calls at once: one create
            earlier = None if new_variation else self._reusable(key)
            if earlier is None:
                generation = await self._client.create(request, deadline=deadline)
                self._submitted[key] = _Submitted(generation.id, self.now())
        if generation is not None:
            report = await self._submitted_and_waited(request, generation, deadline, progress, preview)
        else:
            assert earlier is not None
            logger.info("identical request: reusing generation %s", earlier.generation_id)
            report = await self._wait(earlier.generation_id, deadline, progress, preview)
            report = replace(report, reused_after=self.now() - earlier.at)
        self._note_outcome(key, report.generation)
        return report

    def _reusable(self, key: str) -> _Submitted | None:
        earlier = self._submitted.get(key)
        if earlier is None:
            return None
        now = self.now()
        if earlier.finished_at is None:
            fresh = now - earlier.at <= UNFINISHED_REUSE_SECONDS
        else:
            fresh = now - earlier.finished_at <= self._settings.dedupe_seconds
        if not fresh:
            del self._submitted[key]
        return earlier if fresh else None

    def _note_outcome(self, key: str, generation: Generation) -> None:
        earlier = self._submitted.get(key)
        if earlier is None or earlier.generation_id != generation.id:
            return
        if generation.state == "failed":
            del self._submitted[key]  # a failure is not worth reusing: the next identical call tries anew
        elif generation.state == "completed" and earlier.finished_at is None:
            earlier.finished_at = self.now()

    async def _submitted_and_waited(
        self,
        request: GenerationRequest,
        generation: Generation,
        deadline: float,
        progress: Progress,
        preview: PreviewMode | None,
    ) -> Report:
        logger.info("generation %s queued (%s, %s)", generation.id, request.model, request.type)
        entry = HistoryEntry(
            generation_id=generation.id,
            prompt=request.prompt,
            model=request.model,
            type=request.type,
            aspect_ratio=request.aspect_ratio,
            style=request.style,
            output_format=request.output_format,
            created_at=generation.created_at,
            inputs=_input_records(request),
        )
        await self._record(entry)
        await progress(0, self._settings.wait_seconds, f"Queued as {generation.id}")
        return await self._wait(generation, deadline, progress, preview)

    async def fetch(self, generation_id: str, *, preview: PreviewMode | None = None) -> Report:
        """One look at a generation; a completed one is saved (if it was not yet) and previewed."""
        # Bounded like a generating call, but with room for a few retries even when that is 0.
        deadline = self._client.time.monotonic() + max(self._settings.wait_seconds, LOOK_SECONDS)
        return await self._finish(await self._client.get(generation_id, deadline=deadline), None, preview)

    async def wait(
        self,
        generation_id: str,
        max_wait: float,
        progress: Progress = no_progress,
        *,
        preview: PreviewMode | None = None,
    ) -> Report:
        """Poll until the generation is finished or `max_wait` passes."""
        return await self._wait(generation_id, self._client.time.monotonic() + max_wait, progress, preview)

    async def _wait(
        self, generation: Generation | str, deadline: float, progress: Progress, preview: PreviewMode | None
    ) -> Report:
        clock = self._client.time
        started = clock.monotonic()
        max_wait = max(deadline - started, 0.0)
        last = 0.0
        seen: Generation | None = generation if isinstance(generation, Generation) else None

        async def on_update(current: Generation) -> None:
            nonlocal last, seen
            seen = current
            elapsed = clock.monotonic() - started
            # Strictly increasing (the protocol asks it), and below the total kept for "completed".
            last = max(min(elapsed, 0.99 * max_wait), last + 0.001)
            await progress(last, max_wait, f"{current.state.capitalize()} · {elapsed:.0f} s of up to {max_wait:.0f} s")

        try:
            final = await self._client.poll(generation, deadline=deadline, on_update=on_update)
        except LumaError as exc:
            if seen is None:
                raise
            # The job exists and may well finish: hand it off with what we know, never lose its id.
            logger.warning("lost the API while waiting for %s: %s", seen.id, exc)
            note = f"The API stopped answering while waiting ({exc}); the job may still finish."
            return await self._finish(seen, clock.monotonic() - started, preview, (note,))
        waited = clock.monotonic() - started
        if final.state == "completed":
            await progress(max(max_wait, last + 0.001), max_wait, "Completed · saving the image")
        return await self._finish(final, waited, preview)

    async def _finish(
        self,
        generation: Generation,
        waited: float | None,
        preview: PreviewMode | None,
        notes: tuple[str, ...] = (),
    ) -> Report:
        known = await self.history.get(generation.id) or HistoryEntry(generation_id=generation.id)
        entry = known.model_copy(
            update={
                "state": generation.state,
                "failure_code": generation.failure_code,
                "model": generation.model or known.model,
                "type": generation.type,
                "created_at": generation.created_at or known.created_at,
            }
        )
        warnings = list(notes)
        mode = preview or self._settings.preview
        if generation.state == "completed" and not self._keep_files:
            await self.history.remember(entry)
            previews, errors = await self._preview_unkept(generation, mode)
            outputs = tuple(
                FinishedOutput(i, output, None, previews[i], errors.get(i))
                for i, output in enumerate(generation.output)
            )
            return Report(generation, entry.prompt, outputs, waited, tuple(warnings), files_kept=False)
        if generation.state == "completed":
            lock = self._locks.setdefault(generation.id, anyio.Lock())
            async with lock:  # two looks at once must not save the same image twice
                entry, errors, warning = await self._save_missing(generation, entry)
            warnings += [warning] if warning else []
        else:
            errors = {}
            if entry.state != known.state or known.recorded_at == "":
                await self._record(entry)
        files = {f.index: f for f in entry.files}
        paths: list[Path | None] = [Path(files[i].path) if i in files else None for i in range(len(generation.output))]
        previews = await image_work(make_previews, paths, mode) if mode != "none" else [None] * len(paths)
        outputs = tuple(
            FinishedOutput(i, output, files.get(i), previews[i], errors.get(i))
            for i, output in enumerate(generation.output)
        )
        return Report(generation, entry.prompt, outputs, waited, tuple(warnings))

    async def _record(self, entry: HistoryEntry) -> None:
        if not self._keep_files:
            await self.history.remember(entry)
            return
        folder, _ = await self._folder.writable()
        if folder is not None:
            await self.history.record(entry, folder)

    async def _preview_unkept(
        self, generation: Generation, mode: PreviewMode
    ) -> tuple[list[Preview | None], dict[int, str]]:
        """Previews of outputs this server does not keep: downloaded to a temporary folder, which
        is gone when the previews are made. Nothing to do when no preview is wanted."""
        if mode == "none":
            return [None] * len(generation.output), {}
        errors: dict[int, str] = {}
        paths: list[Path | None] = []
        with tempfile.TemporaryDirectory(prefix="luma-preview-") as scratch:
            current = generation
            for index in range(len(generation.output)):
                try:
                    current, saved = await self._download(current, index, Path(scratch), f"output-{index}")
                    paths.append(saved.path)
                except OutputError as exc:
                    errors[index] = str(exc)
                    paths.append(None)
            previews = await image_work(make_previews, paths, mode)
        return previews, errors

    async def _save_missing(
        self, generation: Generation, entry: HistoryEntry
    ) -> tuple[HistoryEntry, dict[int, str], str | None]:
        """Download the outputs not on disk yet; the updated entry, errors per output, a warning."""
        on_disk = {f.index: f for f in entry.files if _exists(f.path)}
        missing = [i for i in range(len(generation.output)) if i not in on_disk]
        if not missing:
            return entry, {}, None
        folder, warning = await self._folder.writable()
        if folder is None:
            return entry, dict.fromkeys(missing, warning or "no folder can be written"), warning
        errors: dict[int, str] = {}
        current = generation
        for index in missing:
            stem = output_stem(
                created=file_created(generation.created_at),
                prompt=entry.prompt,
                generation_id=generation.id,
                index=index,
            )
            try:
                current, saved = await self._download(current, index, folder, stem)
            except OutputError as exc:
                errors[index] = str(exc)
                logger.warning("could not save %s output %d: %s", generation.id, index, exc)
                continue
            except Exception as exc:  # a paid image's id and URL must reach the caller, whatever broke
                errors[index] = f"unexpected error while saving ({type(exc).__name__})"
                logger.exception("could not save %s output %d", generation.id, index)
                continue
            layer = generation.output[index].layer
            on_disk[index] = SavedFile(
                index=index,
                path=str(saved.path),
                media_type=saved.media_type,
                size_bytes=saved.size_bytes,
                sha256=saved.sha256,
                width=saved.width,
                height=saved.height,
                label=layer.label if layer else None,
            )
            logger.info("saved %s output %d to %s", generation.id, index, saved.path)
        entry = entry.model_copy(update={"files": [on_disk[i] for i in sorted(on_disk)]})
        await self.history.record(entry, folder)
        if self._on_saved is not None and on_disk:
            self._on_saved(entry)
        return entry, errors, warning

    async def _download(
        self, generation: Generation, index: int, folder: Path, stem: str
    ) -> tuple[Generation, SavedImage]:
        """Download one output: once more if the connection drops or the bytes come damaged, and
        after a GET for a fresh link if the link was refused (expired)."""
        http = await self._http.get()
        max_bytes = int(self._settings.max_download_mb * 1024 * 1024)
        tried_again = refreshed = False
        while True:
            try:
                saved = await download(http, generation.output[index].url, folder, stem, max_bytes=max_bytes)
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
                        fresh = await self._client.get(generation.id)
                    except LumaError as refresh_error:
                        raise OutputError(f"{exc}, and no fresh link could be had: {refresh_error}") from refresh_error
                    if fresh.state == "completed" and index < len(fresh.output):
                        generation = fresh
                        continue
                raise
            return generation, saved
