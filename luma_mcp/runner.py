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
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Sequence
from contextlib import asynccontextmanager, contextmanager
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
    OutcomeUnknownError,
    SharedHttpClient,
    timeout_within,
)
from .config import PreviewMode, Settings
from .history import History, HistoryEntry, InputRecord, SavedFile
from .media.outputs import OutputError, OutputFolder, SavedImage, download, file_created, output_stem
from .media.previews import Preview, make_previews
from .media.work import image_work

logger = logging.getLogger(__name__)

UNFINISHED_REUSE_SECONDS = 3600.0
"""How long a job never seen finished may be handed to an identical request. Every look notes a
job's end, so this only applies to one nobody looked at again (jobs take about a minute)."""
LOOK_SECONDS = 10.0
"""The least time a single look (get_generation) may spend on retries."""
INPUT_SECONDS = 30.0
"""The least time a call's uploads may take, even when its wait is shorter."""
SAVE_SECONDS = 7.0
"""Time a call keeps, after its wait, to download and save (35 s + 7 s stays inside the ~45 s
hosts give a call, when the create answered promptly: a create is never cut short, since its
outcome would then be unknown). An image not saved by then is saved by the next look."""
LOST_ANSWER_SECONDS = 600.0
"""At least this long after a create's answer was lost, an identical request is not sent (it may
be queued already): its own window, whatever the dedupe window is set to."""
OUT_OF_TIME = "Not downloaded within this call's time (hosts drop longer calls); get_generation saves it."
OUT_OF_TIME_UNKEPT = "Not downloaded within this call's time, so no preview; the link holds the image for an hour."

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


class Draining:
    """Set when the server begins to shut down: every wait for a job, and every pause before a
    create is sent again, ends at once (a wait hands its job off with id and next step), so callers
    get an answer inside the shutdown grace, not a cut connection. A create already sent is
    awaited, and downloads under way finish within their call's time."""

    def __init__(self) -> None:
        self.begun = False
        self._scopes: set[anyio.CancelScope] = set()

    def begin(self) -> None:
        """Call on the event loop's thread."""
        self.begun = True
        for scope in self._scopes:
            scope.cancel()

    @contextmanager
    def interruptible(self) -> Generator[anyio.CancelScope]:
        """A scope cancelled when draining begins (at once, if it has)."""
        with anyio.CancelScope() as scope:
            if self.begun:
                scope.cancel()
            self._scopes.add(scope)
            try:
                yield scope
            finally:
                self._scopes.discard(scope)


@dataclass
class _Submitted:
    """A generation this server created, remembered so an identical request can reuse it."""

    key: str
    generation_id: str
    at: float
    finished_at: float | None = None


class ResendRefusedError(LumaError):
    """An identical create lost its answer moments ago: it may be queued, so this one is not sent."""

    def __init__(self, seconds_ago: float) -> None:
        super().__init__(
            f"An identical request {seconds_ago:.0f} s ago was sent but its answer was lost, so it may already "
            "be queued (and charged). This one was not sent. To send it anyway, accepting the risk of a "
            "second charge, call again with new_variation=true."
        )


class ShuttingDownError(LumaError):
    def __init__(self) -> None:
        super().__init__("This server is shutting down; call again in a moment (the job, if any, keeps running).")


class ReusedJobError(LumaError):
    """A call given an identical earlier request's job could not look at it: the message names the
    job, so that calling again (perhaps on another copy of the server) does not pay for another."""

    def __init__(self, cause: LumaError, generation_id: str) -> None:
        super().__init__(
            f"{cause} This request is identical to an earlier one, which is generation {generation_id} "
            "(already paid for): call wait_for_generation with that id instead of generating again."
        )
        self.generation_id = generation_id


@asynccontextmanager
async def _one_at_a_time(locks: dict[str, anyio.Lock], key: str) -> AsyncGenerator[None]:
    """Hold `key`'s lock; the lock is dropped when nobody holds or awaits it (no unbounded growth)."""
    lock = locks.setdefault(key, anyio.Lock())
    try:
        async with lock:
            yield
    finally:
        if locks.get(key) is lock and not lock.locked() and not lock.statistics().tasks_waiting:
            del locks[key]


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
        label: str | None = None,
        on_saved: Callable[[HistoryEntry], Awaitable[None]] | None = None,
        draining: Draining | None = None,
    ) -> None:
        """`folder` and `label` (the user's, in BYOK mode) keep one workspace's files apart;
        `draining` ends waits early when the server shuts down."""
        self._client = client
        self._http = http
        self._settings = settings
        self._keep_files = settings.keeps_files
        self._folder = OutputFolder(folder or settings.output_dir, label=label)
        # Without kept files there is no history on disk either: what was made lives in memory.
        logs = [self._folder.preferred, self._folder.fallback] if self._keep_files else []
        self.history = History(logs, trusted={self._folder.fallback: self._folder.fallback_is_private})
        self._on_saved = on_saved
        self._draining = draining or Draining()
        self._save_locks: dict[str, anyio.Lock] = {}
        self._submit_locks: dict[str, anyio.Lock] = {}
        self._submitted: dict[str, _Submitted] = {}
        """By request key: what an identical request may reuse."""
        self._submitted_by_id: dict[str, _Submitted] = {}
        self._unknown_outcomes: dict[str, float] = {}
        """Request key → when its create was sent and the answer lost."""
        self._active = 0
        """Calls under way (run, wait, fetch)."""

    def idle(self) -> bool:
        """Whether dropping this runner loses nothing: no call under way, and nothing an identical
        request should be given back (or refused) any more."""
        self._forget_expired()
        return self._active == 0 and not self._submitted_by_id and not self._unknown_outcomes

    @contextmanager
    def busy(self) -> Generator[None]:
        """Count a call as under way (so its workspace is kept): from when it picks this runner,
        uploads included, to its answer."""
        self._active += 1
        try:
            yield
        finally:
            self._active -= 1

    def inputs_deadline(self, started: float) -> float:
        """When a call that started at `started` must have its input images uploaded."""
        return started + max(self._settings.wait_seconds, INPUT_SECONDS)

    def holds(self, path: str) -> bool:
        """Whether `path` is in this runner's folders: only such files are ever read back."""
        return self._folder.holds(path)

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
        with self.busy():
            async with _one_at_a_time(self._submit_locks, key):  # identical calls at once: one create
                self._forget_expired()
                earlier = None if new_variation else self._reusable(key)
                if earlier is None:
                    generation = await self._create(request, key, deadline)
            if generation is not None:
                await progress(0, self._settings.wait_seconds, f"Queued as {generation.id}")
                return await self._wait(generation, deadline, progress, preview)
            assert earlier is not None
            logger.info("identical request: reusing generation %s", earlier.generation_id)
            try:
                report = await self._wait(earlier.generation_id, deadline, progress, preview)
            except LumaError as exc:
                raise ReusedJobError(exc, earlier.generation_id) from exc
            return replace(report, reused_after=self.now() - earlier.at)

    async def _create(self, request: GenerationRequest, key: str, deadline: float) -> Generation:
        """Send the create, and remember it: for reuse, and in the history.

        Cancelling the call (or the server draining) ends a pause before the create is sent again
        (nothing is queued then); a create already sent is awaited by the client even so, since it
        may be queued and charged, and is recorded here before the cancellation goes on."""
        if self._draining.begun:  # a job this server would not wait for: not started
            raise ShuttingDownError
        try:
            with self._draining.interruptible() as interrupted:
                generation = await self._client.create(request, deadline=deadline)
        except OutcomeUnknownError as exc:
            self._unknown_outcomes[key] = self.now()
            raise exc.resent_by("call again with new_variation=true") from exc
        if interrupted.cancelled_caught:  # drained while pausing between attempts: nothing queued
            raise ShuttingDownError
        self._unknown_outcomes.pop(key, None)
        submitted = _Submitted(key, generation.id, self.now())
        self._submitted[key] = self._submitted_by_id[generation.id] = submitted
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
        with anyio.CancelScope(shield=True):  # a paid job is recorded even when the call is cancelled
            await self._record(entry)
        return generation

    def _reusable(self, key: str) -> _Submitted | None:
        lost_at = self._unknown_outcomes.get(key)
        if lost_at is not None:
            raise ResendRefusedError(self.now() - lost_at)
        return self._submitted.get(key)

    def _forget_expired(self) -> None:
        """Drop what an identical request may no longer reuse (keeps memory bounded)."""
        now = self.now()
        window = self._settings.dedupe_seconds
        # By id: a job an identical new_variation call replaced in `_submitted` is still here.
        for submitted in list(self._submitted_by_id.values()):
            if submitted.finished_at is None:
                fresh = now - submitted.at <= UNFINISHED_REUSE_SECONDS
            else:
                fresh = now - submitted.finished_at <= window
            if not fresh:
                self._forget(submitted)
        for key, lost_at in list(self._unknown_outcomes.items()):
            if now - lost_at > max(window, LOST_ANSWER_SECONDS):
                del self._unknown_outcomes[key]

    def _forget(self, submitted: _Submitted) -> None:
        if self._submitted.get(submitted.key) is submitted:
            del self._submitted[submitted.key]
        if self._submitted_by_id.get(submitted.generation_id) is submitted:
            del self._submitted_by_id[submitted.generation_id]

    def _note_outcome(self, generation: Generation) -> None:
        """On every look: a failed job is not reused (the next identical call tries anew), and a
        completed one is reused for the dedupe window from when it was first seen completed."""
        submitted = self._submitted_by_id.get(generation.id)
        if submitted is None:
            return
        if generation.state == "failed":
            self._forget(submitted)
        elif generation.state == "completed" and submitted.finished_at is None:
            submitted.finished_at = self.now()

    async def fetch(self, generation_id: str, *, preview: PreviewMode | None = None) -> Report:
        """One look at a generation; a completed one is saved (if it was not yet) and previewed."""
        # Bounded like a generating call, but with room for a few retries even when that is 0.
        deadline = self.now() + max(self._settings.wait_seconds, LOOK_SECONDS)
        with self.busy():
            generation = await self._client.get(generation_id, deadline=deadline)
            return await self._finish(generation, None, preview, finish_by=deadline + SAVE_SECONDS)

    async def wait(
        self,
        generation_id: str,
        max_wait: float,
        progress: Progress = no_progress,
        *,
        preview: PreviewMode | None = None,
    ) -> Report:
        """Poll until the generation is finished or `max_wait` passes."""
        with self.busy():
            return await self._wait(generation_id, self.now() + max_wait, progress, preview)

    async def _wait(
        self, generation: Generation | str, deadline: float, progress: Progress, preview: PreviewMode | None
    ) -> Report:
        """Poll until `deadline`, then save what completed by `deadline + SAVE_SECONDS`."""
        started = self.now()
        max_wait = max(deadline - started, 0.0)
        finish_by = deadline + SAVE_SECONDS
        last = 0.0
        seen: Generation | None = generation if isinstance(generation, Generation) else None

        async def on_update(current: Generation) -> None:
            nonlocal last, seen
            seen = current
            elapsed = self.now() - started
            # Strictly increasing (the protocol asks it), and below the total kept for "completed".
            last = max(min(elapsed, 0.99 * max_wait), last + 0.001)
            await progress(last, max_wait, f"{current.state.capitalize()} · {elapsed:.0f} s of up to {max_wait:.0f} s")

        try:
            with self._draining.interruptible() as interrupted:
                final = await self._client.poll(generation, deadline=deadline, on_update=on_update)
        except LumaError as exc:
            if seen is None:
                raise
            # The job exists and may well finish: hand it off with what we know, never lose its id.
            logger.warning("lost the API while waiting for %s: %s", seen.id, exc)
            note = f"The API stopped answering while waiting ({exc}); the job may still finish."
            return await self._finish(seen, self.now() - started, preview, (note,), finish_by=finish_by)
        if interrupted.cancelled_caught:  # the server is shutting down
            if seen is None:
                raise ShuttingDownError
            note = "This server is shutting down, so the wait ended early; the job keeps running."
            return await self._finish(seen, self.now() - started, "none", (note,), finish_by=self.now())
        waited = self.now() - started
        if final.state == "completed":
            await progress(max(max_wait, last + 0.001), max_wait, "Completed · saving the image")
        return await self._finish(final, waited, preview, finish_by=finish_by)

    async def _finish(
        self,
        generation: Generation,
        waited: float | None,
        preview: PreviewMode | None,
        notes: tuple[str, ...] = (),
        *,
        finish_by: float,
    ) -> Report:
        self._note_outcome(generation)
        warnings = list(notes)
        mode = preview or self._settings.preview
        errors: dict[int, str] = {}
        if generation.state == "completed" and not self._keep_files:
            entry = await self._updated_entry(generation)
            await self.history.remember(entry)
            generation, previews, errors = await self._preview_unkept(generation, mode, finish_by)
            return Report(
                generation, entry.prompt, _outputs(generation, {}, previews, errors), waited, tuple(warnings),
                files_kept=False,
            )  # fmt: skip
        if generation.state == "completed":
            async with _one_at_a_time(self._save_locks, generation.id):  # two looks must not save twice
                # Read under the lock: a look that held it before may have saved the files.
                known = await self.history.get(generation.id)
                entry = await self._updated_entry(generation, known)
                generation, entry, errors, warning = await self._save_missing(
                    generation, entry, finish_by, news=_news(known, entry)
                )
            warnings += [warning] if warning else []
        else:
            known = await self.history.get(generation.id)
            entry = await self._updated_entry(generation, known)
            if _news(known, entry):
                await self._record(entry)
        files = {f.index: f for f in entry.files if self.holds(f.path)}
        paths = [Path(files[i].path) if i in files else None for i in range(len(generation.output))]
        previews = await image_work(make_previews, paths, mode) if mode != "none" else [None] * len(paths)
        return Report(generation, entry.prompt, _outputs(generation, files, previews, errors), waited, tuple(warnings))

    async def _updated_entry(self, generation: Generation, known: HistoryEntry | None = None) -> HistoryEntry:
        """The history's entry for `generation` (`known`, or read now), brought up to its state."""
        known = known or await self.history.get(generation.id) or HistoryEntry(generation_id=generation.id)
        return known.model_copy(
            update={
                "state": generation.state,
                "failure_code": generation.failure_code,
                "model": generation.model or known.model,
                "type": generation.type,
                "created_at": generation.created_at or known.created_at,
            }
        )

    async def _record(self, entry: HistoryEntry) -> None:
        if not self._keep_files:
            await self.history.remember(entry)
            return
        folder, _ = await self._folder.writable()
        if folder is not None:
            await self.history.record(entry, folder)

    async def _preview_unkept(
        self, generation: Generation, mode: PreviewMode, finish_by: float
    ) -> tuple[Generation, list[Preview | None], dict[int, str]]:
        """Previews of outputs this server does not keep: downloaded to a temporary folder, which
        is gone when the previews are made. Nothing to do when no preview is wanted. Returns the
        generation with its links refreshed if one was."""
        if mode == "none":
            return generation, [None] * len(generation.output), {}
        with tempfile.TemporaryDirectory(prefix="luma-preview-") as scratch:
            indexes = range(len(generation.output))
            saved: dict[int, SavedImage] = {}
            errors: dict[int, str] = {}
            generation = await self._download_each(
                generation, indexes, Path(scratch), lambda index: f"output-{index}", finish_by,
                saved=saved, errors=errors, out_of_time=OUT_OF_TIME_UNKEPT,
            )  # fmt: skip
            paths = [saved[i].path if i in saved else None for i in indexes]
            previews = await image_work(make_previews, paths, mode)
        return generation, previews, errors

    async def _save_missing(
        self, generation: Generation, entry: HistoryEntry, finish_by: float, *, news: bool
    ) -> tuple[Generation, HistoryEntry, dict[int, str], str | None]:
        """Download the outputs not on disk yet: the generation (links refreshed if one was), the
        updated entry, errors per output, a warning. `news`: the entry says more than the history
        (the job's end), so it is recorded even if nothing is saved."""
        on_disk = {f.index: f for f in entry.files if self.holds(f.path) and _exists(f.path)}
        missing = [i for i in range(len(generation.output)) if i not in on_disk]
        if not missing:
            if news:
                await self._record(entry)
            return generation, entry, {}, None
        folder, warning = await self._folder.writable()
        if folder is None:
            return generation, entry, dict.fromkeys(missing, warning or "no folder can be written"), warning
        created = file_created(generation.created_at)

        def stem(index: int) -> str:
            return output_stem(created=created, prompt=entry.prompt, generation_id=generation.id, index=index)

        saved: dict[int, SavedImage] = {}
        errors: dict[int, str] = {}
        unwritable: set[int] = set()
        try:
            generation = await self._download_each(
                generation, missing, folder, stem, finish_by, saved=saved, errors=errors, unwritable=unwritable
            )
            if unwritable and folder == self._folder.preferred:
                # The folder took the probe but not the image (a full disk, a quota): probed again,
                # it may give way to the temporary folder, where these outputs are tried once more.
                self._folder.distrust()
                fallback, fallback_warning = await self._folder.writable()
                if fallback is not None and fallback != folder:
                    folder, warning = fallback, fallback_warning
                    retried = sorted(unwritable)
                    for index in retried:
                        del errors[index]
                    generation = await self._download_each(
                        generation, retried, folder, stem, finish_by, saved=saved, errors=errors
                    )
        finally:
            # Recorded even when the call is cancelled part way: an output saved before the cancel
            # must not be downloaded again, under a second name, by the next look.
            for index, image in saved.items():
                layer = generation.output[index].layer if index < len(generation.output) else None
                on_disk[index] = SavedFile(
                    index=index,
                    path=str(image.path),
                    media_type=image.media_type,
                    size_bytes=image.size_bytes,
                    sha256=image.sha256,
                    width=image.width,
                    height=image.height,
                    label=layer.label if layer else None,
                )
                logger.info("saved %s output %d to %s", generation.id, index, image.path)
            entry = entry.model_copy(update={"files": [on_disk[i] for i in sorted(on_disk)]})
            if saved or news:
                with anyio.CancelScope(shield=True):
                    for log_folder in self._logs_naming(entry, folder):
                        await self.history.record(entry, log_folder)
                    if saved and self._on_saved is not None:
                        await self._on_saved(entry)
        return generation, entry, errors, warning

    def _logs_naming(self, entry: HistoryEntry, used: Path) -> list[Path]:
        """The folders whose history logs must name `entry`: the one saved in now, and each other
        that holds one of its files (a log cleaned away with its folder must not take the record
        of a file elsewhere with it)."""
        folders = [used]
        for folder in (self._folder.preferred, self._folder.fallback):
            if folder not in folders and any(Path(f.path).is_relative_to(folder) for f in entry.files):
                folders.append(folder)
        return folders

    async def _download_each(
        self,
        generation: Generation,
        indexes: Sequence[int],
        folder: Path,
        stem: Callable[[int], str],
        finish_by: float,
        *,
        saved: dict[int, SavedImage],
        errors: dict[int, str],
        unwritable: set[int] | None = None,
        out_of_time: str = OUT_OF_TIME,
    ) -> Generation:
        """Download the outputs at `indexes` into `folder`, by `finish_by`, filling `saved` (as each
        is), `errors` (why each other one was not) and `unwritable` (those the folder would not
        take). Returns the generation with the freshest links seen. Never raises but for
        cancellation: a paid image's id and URL must reach the caller."""
        links = _Links(generation)
        # The downloads bound their own waits to `finish_by` on the client's clock; this is the
        # backstop on the real one, for a link that trickles bytes just fast enough.
        with anyio.move_on_after(max(finish_by - self.now(), 0.0)):
            for index in indexes:
                try:
                    saved[index] = await self._download(links, index, folder, stem(index), finish_by)
                except _OutOfTimeError:
                    break  # this output and the rest: said below
                except OutputError as exc:
                    errors[index] = str(exc)
                    if exc.retry == "fallback" and unwritable is not None:
                        unwritable.add(index)
                    logger.warning("could not save %s output %d: %s", generation.id, index, exc)
                except Exception as exc:
                    errors[index] = f"unexpected error while saving ({type(exc).__name__})"
                    logger.exception("could not save %s output %d", generation.id, index)
        for index in indexes:
            if index not in saved and index not in errors:
                errors[index] = out_of_time
        return links.generation

    async def _download(self, links: _Links, index: int, folder: Path, stem: str, finish_by: float) -> SavedImage:
        """Download one output by `finish_by`: once more if the connection drops or the bytes come
        damaged, and after a GET for a fresh link if the link was refused (expired). A fresh link
        replaces the old in `links`, even when the download fails after all."""
        generation = links.generation
        http = await self._http.get()
        max_bytes = int(self._settings.max_download_mb * 1024 * 1024)
        tried_again = refreshed = False
        while True:
            remaining = finish_by - self.now()
            if remaining <= 0:
                raise _OutOfTimeError
            try:
                saved = await download(
                    http,
                    generation.output[index].url,
                    folder,
                    stem,
                    max_bytes=max_bytes,
                    limits=timeout_within(http.timeout, remaining),
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
                        generation = links.generation = fresh
                        continue
                raise
            return saved


def _news(known: HistoryEntry | None, entry: HistoryEntry) -> bool:
    """Whether `entry` tells the history something it does not know yet (a state, or anything)."""
    return known is None or entry.state != known.state or known.recorded_at == ""


class _OutOfTimeError(Exception):
    """The call's time to save ran out before a download (or its retry) could begin."""


@dataclass
class _Links:
    """A completed generation as last seen: its download links are refreshed as they expire."""

    generation: Generation


def _outputs(
    generation: Generation,
    files: dict[int, SavedFile],
    previews: Sequence[Preview | None],
    errors: dict[int, str],
) -> tuple[FinishedOutput, ...]:
    return tuple(
        FinishedOutput(i, output, files.get(i), previews[i], errors.get(i))
        for i, output in enumerate(generation.output)
    )
