"""`GenerationRunner`: a generation from request to saved result. Submit, wait within a budget
while reporting progress, then hand the job to the saver; a job not done by then is handed back
with its id and the next step, never lost.

Nothing paid for is lost: a completed image is saved (in a temporary folder if the chosen one
cannot be written), a download that drops is tried again, an expired link is refreshed, and when
saving fails anyway the result still carries the generation id and a working link.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import anyio

from ..api import Generation, GenerationRequest, LumaClient, SharedHttpClient
from ..config import Settings
from ..errors import LumaError, OutcomeUnknownError, ReusedJobError, ShuttingDownError
from ..media.folders import OutputFolder
from ..media.previews import PreviewMode
from ..store.history import History
from ..store.records import HistoryEntry
from .downloads import Downloader
from .draining import Draining
from .ledger import Ledger, request_key
from .report import Progress, Report, no_progress
from .saver import Saver

logger = logging.getLogger(__name__)

LOOK_SECONDS = 10.0
"""The least time a single look (get_generation) may spend on retries."""
INPUT_SECONDS = 30.0
"""The least time a call's uploads may take, even when its wait is shorter."""
SAVE_SECONDS = 7.0
"""Time a call keeps, after its wait, to download and save (35 s + 7 s stays inside the ~45 s
hosts give a call, when the create answered promptly: a create is never cut short, since its
outcome would then be unknown). An image not saved by then is saved by the next look."""


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
        self._wait_seconds = settings.wait_seconds
        keep_files = settings.keeps_files
        output_folder = OutputFolder(folder or settings.output_dir, label=label)
        # Without kept files there is no history on disk either: what was made lives in memory.
        logs = [output_folder.preferred, output_folder.fallback] if keep_files else []
        self.history = History(logs, trusted={output_folder.fallback: output_folder.fallback_is_private})
        downloader = Downloader(client, http, max_bytes=int(settings.max_download_mb * 1024 * 1024))
        self._saver = Saver(
            downloader,
            folder=output_folder,
            history=self.history,
            keep_files=keep_files,
            preview=settings.preview,
            on_saved=on_saved,
        )
        self._ledger = Ledger(self.now, dedupe_seconds=settings.dedupe_seconds)
        self._draining = draining or Draining()
        self._active = 0
        """Calls under way (run, wait, fetch, and a generating call's uploads)."""

    def idle(self) -> bool:
        """Whether dropping this runner loses nothing: no call under way, and nothing an identical
        request should be given back (or refused) any more."""
        return self._ledger.empty() and self._active == 0

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
        return started + max(self._wait_seconds, INPUT_SECONDS)

    def contains(self, path: str) -> bool:
        """Whether `path` is in this runner's folders: only such files are ever read back."""
        return self._saver.contains(path)

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
        deadline = (self.now() if started is None else started) + self._wait_seconds
        key = request_key(request)
        generation: Generation | None = None
        with self.busy():
            async with self._ledger.one_create(key):  # identical calls at once: one create
                earlier = None if new_variation else self._ledger.reusable(key)
                if earlier is None:
                    generation = await self._create(request, key, deadline)
            if generation is not None:
                await progress(0, self._wait_seconds, f"Queued as {generation.id}")
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
            self._ledger.lost(key)
            raise exc.resent_by("call again with new_variation=true") from exc
        if interrupted.cancelled_caught:  # drained while pausing between attempts: nothing queued
            raise ShuttingDownError
        self._ledger.created(key, generation.id)
        logger.info("generation %s queued (%s, %s)", generation.id, request.model, request.type)
        with anyio.CancelScope(shield=True):  # a paid job is recorded even when the call is cancelled
            await self._saver.record_created(generation, request)
        return generation

    async def fetch(self, generation_id: str, *, preview: PreviewMode | None = None) -> Report:
        """One look at a generation; a completed one is saved (if it was not yet) and previewed."""
        # Bounded like a generating call, but with room for a few retries even when that is 0.
        deadline = self.now() + max(self._wait_seconds, LOOK_SECONDS)
        with self.busy():
            generation = await self._client.get(generation_id, deadline=deadline)
            self._ledger.note_outcome(generation)
            return await self._saver.finish(generation, waited=None, preview=preview, finish_by=deadline + SAVE_SECONDS)

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

        notes: tuple[str, ...] = ()
        try:
            with self._draining.interruptible() as interrupted:
                final = await self._client.poll(generation, deadline=deadline, on_update=on_update)
        except LumaError as exc:
            if seen is None:
                raise
            # The job exists and may well finish: hand it off with what we know, never lose its id.
            logger.warning("lost the API while waiting for %s: %s", seen.id, exc)
            final, notes = seen, (f"The API stopped answering while waiting ({exc}); the job may still finish.",)
        else:
            if interrupted.cancelled_caught:  # the server is shutting down
                if seen is None:
                    raise ShuttingDownError
                final, notes = seen, ("This server is shutting down, so the wait ended early; the job keeps running.",)
                preview, finish_by = "none", self.now()
        waited = self.now() - started
        if final.state == "completed" and not notes:
            await progress(max(max_wait, last + 0.001), max_wait, "Completed · saving the image")
        self._ledger.note_outcome(final)
        return await self._saver.finish(final, waited=waited, preview=preview, notes=notes, finish_by=finish_by)
