"""`GenerationRunner`: generations from request to saved result. Submit (one job, or `count` jobs
in parallel), wait within a budget while reporting progress, then hand each job to the saver; a
job not done by then is handed back with its id and the next step, never lost.

Nothing paid for is lost: a completed image is saved (in a temporary folder if the chosen one
cannot be written), a download that drops is tried again, an expired link is refreshed, and when
saving fails anyway the result still carries the generation id and a working link.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Generator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import anyio

from ..api import Generation, GenerationRequest, LumaClient, SharedHttpClient
from ..config import Settings
from ..errors import LumaError, OutcomeUnknownError, ResendRefusedError, ReusedJobError, ShuttingDownError, StoreError
from ..media.folders import OutputFolder
from ..media.outputs import SavedFile
from ..media.previews import PreviewMode
from ..store.base import Account
from ..store.history import History
from ..store.legacy import LegacyLog
from ..store.records import HistoryEntry
from .downloads import Downloader
from .draining import Draining
from .ledger import Ledger, Ticket, request_key
from .locks import SharedLocks
from .previewing import previewed, previewed_set
from .pricing import FREE, request_price
from .report import Progress, Report, SetReport, no_progress, set_of
from .saver import Saver
from .set_progress import SetProgress
from .spending import MemberCharge, Spending
from .uploads import BucketOutputs
from .wait_progress import WaitProgress

logger = logging.getLogger(__name__)

LOOK_SECONDS = 10.0
"""The least time a single look (get_generation) may spend on retries."""
INPUT_SECONDS = 30.0
"""The least time a call's uploads may take, even when its wait is shorter."""
ONE_MORE = "ask for that one image alone, with count=1 and new_variation=true"
"""How the lost member of a set is sent again on purpose (new_variation with the set's count
would pay for every image again)."""
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
        account: Account,
        *,
        wall: Callable[[], float],
        folder: Path | None = None,
        label: str | None = None,
        on_saved: Callable[[HistoryEntry], Awaitable[None]] | None = None,
        draining: Draining | None = None,
        bucket: BucketOutputs | None = None,
    ) -> None:
        """`account`: this workspace's part of the store; `wall`: the wall clock its claims are
        stamped with. `folder` and `label` (the user's, in BYOK mode) keep one workspace's files
        apart, or `bucket` (its part of one) where outputs go to a bucket; `draining` ends waits
        early when the server shuts down."""
        self._client = client
        self._http = http
        self._wait_seconds = settings.wait_seconds
        self._preview: PreviewMode = settings.preview
        self._max_bytes = int(settings.max_download_mb * 1024 * 1024)
        keep_files = self._keeps_files = settings.keeps_files
        place: OutputFolder | BucketOutputs | None = bucket
        logs: list[LegacyLog] = []
        self._folder: OutputFolder | None = None
        if place is None:
            preferred = folder or settings.output_dir
            if not isinstance(preferred, Path):
                raise TypeError("outputs bound for a bucket need `bucket`")
            place = self._folder = OutputFolder(preferred, label=label)
            # Earlier versions logged the history beside the images: imported from there.
            logs = [LegacyLog(place.preferred), LegacyLog(place.fallback, place.fallback_is_private)]
        self.history = History(account, logs if keep_files else [])
        self._saver = Saver(
            Downloader(client, http, max_bytes=self._max_bytes),
            place=place,
            history=self.history,
            keep_files=keep_files,
            saving=SharedLocks(account, wall=wall, time=client.time),
            on_saved=on_saved,
        )
        self._ledger = Ledger(account, wall=wall, time=client.time, dedupe_seconds=settings.dedupe_seconds)
        self.spending = Spending(account, wall=wall, settings=settings)
        self._account = account
        self._wall = wall
        self._draining = draining or Draining()
        self._active = 0
        """Calls under way (run, wait, fetch, and a generating call's uploads)."""

    def idle(self) -> bool:
        """Whether dropping this runner loses nothing: no call under way (what identical requests
        get back, or are refused, is the store's)."""
        return self._active == 0

    @contextmanager
    def busy(self) -> Generator[None]:
        """Count a call as under way (so its workspace is kept): from when it picks this runner,
        uploads included, to its answer."""
        self._active += 1
        try:
            yield
        finally:
            self._active -= 1

    async def folder_problem(self) -> str | None:
        """Why images cannot be saved where they should be (None when they can, or none are kept)."""
        return await self._folder.check() if self._keeps_files and self._folder is not None else None

    def inputs_deadline(self, started: float) -> float:
        """When a call that started at `started` must have its input images uploaded."""
        return started + max(self._wait_seconds, INPUT_SECONDS)

    def contains(self, path: str) -> bool:
        """Whether `path` is in this runner's folders (or its part of the bucket): only such files
        are ever read back."""
        return self._saver.contains(path)

    async def read_saved(self, saved: SavedFile) -> bytes:
        """The bytes of one of this runner's saved outputs. Raises `OutputError`."""
        return await self._saver.read(saved)

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
        notes: tuple[str, ...] = (),
    ) -> Report:
        """Submit `request` and wait for the image, within the configured budget from `started` (a
        host drops longer calls). An identical request while the first runs, or shortly after, gets
        that generation back (agents retry calls their host timed out); `new_variation` asks for a
        new image on purpose. `notes` join the report's warnings."""
        made = await self.run_many(
            request, 1, progress, preview=preview, started=started, new_variation=new_variation, notes=notes
        )
        return made.members[0]

    async def run_many(
        self,
        request: GenerationRequest,
        count: int,
        progress: Progress = no_progress,
        *,
        preview: PreviewMode | None = None,
        started: float | None = None,
        new_variation: bool = False,
        notes: tuple[str, ...] = (),
        charges: Sequence[MemberCharge] = (),
    ) -> SetReport:
        """`count` separate generations of `request`, created in parallel and waited on within one
        budget, as `run` does one; `charges` (one per member) are their part of the call's
        reservation, checked and marked sent as their creates go out. Each member is its own
        identical request to the ledger (member `i` of an identical call is given member `i`'s job
        back): they never collapse into one job. A member that cannot be made is named in the
        failures; the others stand. Raises only when none could be made."""
        deadline = (self.now() if started is None else started) + self._wait_seconds
        mode = preview or self._preview
        key = request_key(request)
        tracker = SetProgress(progress, count) if count > 1 else None
        with self.busy(), self._saver.scratch(mode) as scratch:
            results: list[Report | LumaError | None] = [None] * count

            async def member(index: int) -> None:
                member_key = key if index == 0 else f"{key}#{index}"
                member_progress = progress if tracker is None else tracker.member(index)
                try:
                    results[index] = await self._made(
                        request, member_key, deadline, member_progress, new_variation=new_variation, scratch=scratch,
                        charge=charges[index] if charges else None,
                    )  # fmt: skip
                except (OutcomeUnknownError, ResendRefusedError) as exc:
                    # One image of a set: new_variation with the same count would buy them all again.
                    results[index] = exc.resent_by(ONE_MORE) if count > 1 else exc
                except LumaError as exc:
                    results[index] = exc
                if tracker is not None and not isinstance(results[index], Report):
                    tracker.ended(index)

            if count == 1:
                await member(0)
            else:
                async with anyio.create_task_group() as members:
                    for index in range(count):
                        members.start_soon(member, index)
            made = set_of(results, notes, what="image", unsure=request_price(request))
            return await previewed_set(made, mode)

    async def _made(
        self,
        request: GenerationRequest,
        key: str,
        deadline: float,
        progress: Progress,
        *,
        new_variation: bool,
        scratch: Path | None,
        charge: MemberCharge | None = None,
    ) -> Report:
        """One generation of `request` under ledger key `key`: reused or created, then waited on."""
        generation: Generation | None = None
        async with self._ledger.one_create(key):  # identical calls at once: one create
            decided = await self._ledger.decide(key, new_variation=new_variation, until=deadline)
            if isinstance(decided, Ticket):
                generation = await self._create(request, decided, deadline, charge)
        if generation is not None:
            async with self._saver.unless_waited(generation.id):
                await progress(0, self._wait_seconds, f"Queued as {generation.id}")
                return await self._waited(generation, deadline, progress, scratch, budget=self._wait_seconds)
        assert not isinstance(decided, Ticket)
        logger.info("identical request: reusing generation %s", decided.generation_id)
        try:
            report = await self._waited(decided.generation_id, deadline, progress, scratch, budget=self._wait_seconds)
        except LumaError as exc:
            raise ReusedJobError(exc, decided.generation_id) from exc
        return replace(report, reused_after=max(self._wall() - decided.at, 0.0), price=FREE)

    async def _create(
        self, request: GenerationRequest, ticket: Ticket, deadline: float, charge: MemberCharge | None
    ) -> Generation:
        """Send the create `ticket` allows (if its reservation stands), and note its outcome: in the
        ledger, and the job in the history.

        Cancelling the call (or the server draining) ends a pause before the create is sent again
        (nothing is queued then); a create already sent is awaited by the client even so, since it
        may be queued and charged, and is recorded here before the cancellation goes on."""
        if self._draining.begun:  # a job this server would not wait for: not started
            await self._ledger.released(ticket)
            raise ShuttingDownError
        try:
            await self.spending.reserved(charge)  # sent with the ledger's claim, if it was queued
            with self._draining.interruptible() as interrupted:
                generation = await self._client.create(request, deadline=deadline)
        except OutcomeUnknownError as exc:
            self.spending.lost(charge)
            await self._ledger.lost(ticket)
            minutes = self._ledger.refusal_seconds / 60
            refused = f"an identical call is refused for {minutes:g} minutes, in case this one was queued"
            raise exc.resent_by(f"call again with new_variation=true ({refused})") from exc
        except BaseException:  # refused (or past a cap), or cancelled between attempts: nothing was queued
            await self._ledger.released(ticket)
            raise
        if interrupted.cancelled_caught:  # drained while pausing between attempts: nothing queued
            await self._ledger.released(ticket)
            raise ShuttingDownError
        with anyio.CancelScope(shield=True):  # a paid job is recorded even when the call is cancelled
            # The ledger's claim, the charge and the history entry: one trip to the store.
            await self._ledger.created(ticket, generation.id, later=True)
            await self.spending.created(charge, generation.id, later=True)
            await self._saver.record_created(generation, request, save_by=deadline + SAVE_SECONDS, later=True)
            await self.flush(f"job {generation.id} is not in the store: an identical request may not reuse it")
        logger.info("generation %s queued (%s, %s) and recorded", generation.id, request.model, request.type)
        return generation

    async def _settled(self, report: Report, *, total: bool = False) -> Report:
        """`report` with its job's charge settled, sent with what the look queued (the saved entry,
        the save lock's release) in one trip to the store; with `total`, the running total read."""
        await self.spending.settle(report, later=True)
        if not total:
            await self.flush()
            return report
        return replace(report, spent=await self.spending.today())

    async def flush(self, risk: str = "") -> None:
        """Send what is queued for the next trip to the store; never raises (a refusal is logged, with `risk`)."""
        with anyio.CancelScope(shield=True):
            try:
                await self._account.flush()
            except StoreError as exc:
                logger.warning("%s (%s)", risk or "queued writes were not kept", exc)

    async def fetch(self, generation_id: str, *, preview: PreviewMode | None = None) -> Report:
        """One look at a generation; a completed one is saved (if it was not yet) and previewed."""
        deadline = self.now() + max(self._wait_seconds, LOOK_SECONDS)  # room for retries even with no wait
        mode = preview or self._preview
        with self.busy(), self._saver.scratch(mode) as scratch:
            generation = await self._client.get(generation_id, deadline=deadline)
            await self._ledger.note_outcome(generation, later=True)  # sent with the save's first call
            finish_by = deadline + SAVE_SECONDS
            report = await self._saver.finish(generation, waited=None, finish_by=finish_by, scratch=scratch)
            return await previewed(await self._settled(report), mode)

    async def wait(
        self,
        generation_id: str,
        max_wait: float,
        progress: Progress = no_progress,
        *,
        preview: PreviewMode | None = None,
    ) -> Report:
        """Poll until the generation is finished or `max_wait` passes."""
        mode = preview or self._preview
        with self.busy(), self._saver.scratch(mode) as scratch:
            report = await self._waited(generation_id, self.now() + max_wait, progress, scratch)
            return await previewed(report, mode)

    async def wait_many(
        self,
        generation_ids: Sequence[str],
        max_wait: float,
        progress: Progress = no_progress,
        *,
        preview: PreviewMode | None = None,
    ) -> SetReport:
        """Wait for several generations together (a set handed off part way), within one budget."""
        deadline = self.now() + max_wait
        mode = preview or self._preview
        tracker = SetProgress(progress, len(generation_ids))
        with self.busy(), self._saver.scratch(mode) as scratch:
            results: list[Report | LumaError | None] = [None] * len(generation_ids)

            async def member(index: int, generation_id: str) -> None:
                try:
                    results[index] = await self._waited(generation_id, deadline, tracker.member(index), scratch)
                except LumaError as exc:
                    results[index] = LumaError(f"{generation_id}: {exc}")
                    tracker.ended(index)

            async with anyio.create_task_group() as members:
                for index, generation_id in enumerate(generation_ids):
                    members.start_soon(member, index, generation_id)
            return await previewed_set(set_of(results, (), what="generation"), mode)

    async def _waited(
        self,
        generation: Generation | str,
        deadline: float,
        progress: Progress,
        scratch: Path | None,
        *,
        budget: float | None = None,
    ) -> Report:
        """Poll until `deadline`, then save what completed by `deadline + SAVE_SECONDS`.

        Progress counts the seconds of `budget` (a generating call's whole wait, up to `deadline`,
        of which creating the job took the first moments; by default, from now)."""
        started = self.now()
        total = max(deadline - started, 0.0) if budget is None else budget
        bar = WaitProgress(progress, began=deadline - total, total=total, now=self.now)
        finish_by = deadline + SAVE_SECONDS
        seen: Generation | None = generation if isinstance(generation, Generation) else None

        async def on_update(current: Generation) -> None:
            nonlocal seen
            seen = current
            await bar.running(current.state)

        notes: tuple[str, ...] = ()
        drained = False
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
                drained, finish_by, scratch = True, self.now(), None
        waited = self.now() - started
        if final.state == "completed" and not notes:
            await bar.completed()
        await self._ledger.note_outcome(final, later=True)  # sent with the save's first call
        report = await self._saver.finish(final, waited=waited, notes=notes, finish_by=finish_by, scratch=scratch)
        report = await self._settled(report, total=budget is not None)  # a generating call's: its total
        if drained:  # no time to preview: the answer goes out inside the shutdown grace
            report = replace(report, outputs=tuple(replace(output, local=None) for output in report.outputs))
        return report
