"""`Saver`: what becomes of a generation once looked at. A completed one has each output saved
once (even when two looks race), in the output folder or, when that cannot be written, in a
private temporary one; the history records the job from its creation to its files, and what it
cost. Where no files are kept (HTTP by default), the images are downloaded only to be previewed,
and the links are the images.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path

import anyio

from ..api import Generation, GenerationRequest, ImageRef
from ..errors import OutputError, StoreError
from ..media.bucket import is_object, name_of
from ..media.folders import OutputFolder
from ..media.names import file_created, output_stem
from ..media.outputs import SavedFile
from ..media.previews import PreviewMode
from ..store.history import History
from ..store.records import HistoryEntry, InputRecord
from .downloads import OUT_OF_TIME_UNKEPT, Downloader, Downloads
from .locks import Hold, SharedLocks
from .pricing import Price, price_of, settled_price
from .report import FinishedOutput, Report
from .uploads import BucketOutputs

logger = logging.getLogger(__name__)

SAVE_POLL_SECONDS = 0.5
"""How often a look waiting for another process's save of the same job looks again."""


class Saver:
    def __init__(
        self,
        downloader: Downloader,
        *,
        place: OutputFolder | BucketOutputs,
        history: History,
        keep_files: bool,
        saving: SharedLocks,
        on_saved: Callable[[HistoryEntry], Awaitable[None]] | None = None,
    ) -> None:
        """`saving` makes one look at a time, in any process on the store, save a job's images;
        `on_saved` hears of each entry that gained files (to list them as resources); `place`:
        a folder, or this account's part of a bucket."""
        self._downloader = downloader
        self._folder = place if isinstance(place, OutputFolder) else None
        self._bucket = place if isinstance(place, BucketOutputs) else None
        self._history = history
        self._keep_files = keep_files
        self._on_saved = on_saved
        self._saving = saving

    def contains(self, path: str) -> bool:
        """Whether `path` is in this saver's folders (or its part of the bucket): only such files
        are ever read back."""
        return self._bucket.contains(path) if self._bucket is not None else self._local().contains(path)

    def _local(self) -> OutputFolder:
        assert self._folder is not None  # one of the two is always set
        return self._folder

    async def read(self, saved: SavedFile) -> bytes:
        """The bytes of a saved output, from its file or object. Raises `OutputError`."""
        if self._bucket is not None and is_object(saved.path):
            return await self._bucket.read(saved)
        try:
            return await anyio.Path(saved.path).read_bytes()
        except OSError as exc:
            raise OutputError(f"{saved.path} cannot be read ({exc.strerror or type(exc).__name__})") from exc

    async def record_created(
        self, generation: Generation, request: GenerationRequest, *, save_by: float | None = None, later: bool = False
    ) -> None:
        """Note a job just created (before anything else can happen to it); `later`: queued. With
        `save_by`, its save lock is taken with it, for the call that waits for it (`let_go`)."""
        entry = HistoryEntry(
            generation_id=generation.id,
            prompt=request.prompt,
            model=request.model,
            type=request.type,
            aspect_ratio=request.aspect_ratio,
            style=request.style,
            output_format=request.output_format,
            resolution=request.layering.resolution if request.layering else None,
            created_at=generation.created_at,
            inputs=_input_records(request),
        )
        await self._history.record(entry, later=later)
        if save_by is not None and self._keep_files:
            self._saving.take_new(generation.id, entry, until=save_by)

    @asynccontextmanager
    async def unless_waited(self, generation_id: str) -> AsyncGenerator[None]:
        """Around the wait for a job just created: if it fails, the save lock `record_created` took
        is let go (queued: the failing call's flush sends it)."""
        try:
            yield
        except BaseException:
            await self._saving.let_go(generation_id)
            raise

    @contextmanager
    def scratch(self, preview: PreviewMode) -> Generator[Path | None]:
        """Where images to be previewed that are not on disk (not kept, or kept in a bucket) are
        downloaded, for the length of a call (None where no preview is wanted, or files are kept
        on disk)."""
        if preview == "none" or (self._keep_files and self._bucket is None):
            yield None
            return
        with tempfile.TemporaryDirectory(prefix="luma-preview-") as folder:
            yield Path(folder)

    async def finish(
        self,
        generation: Generation,
        *,
        waited: float | None,
        notes: tuple[str, ...] = (),
        finish_by: float,
        scratch: Path | None = None,
    ) -> Report:
        """The report of a look at `generation`: a completed one saved (what is not on disk yet)
        by `finish_by`, the history brought up to date either way. Where files are not kept, the
        outputs are downloaded into `scratch` instead (if given), to be previewed."""
        warnings = list(notes)
        errors: dict[int, str] = {}
        spooled: dict[int, Path] = {}
        if generation.state != "completed" or not self._keep_files:  # no save: a lock taken with the create goes
            await self._saving.let_go(generation.id)
        if generation.state == "completed" and not self._keep_files:
            known = await self._known(generation.id, warnings)
            entry = await self._updated_entry(generation, known)
            await self._history.record(entry)
            local: dict[int, Path] = {}
            if scratch is not None:
                generation, local, errors = await self._download_unkept(generation, scratch, finish_by)
            outputs = _outputs(generation, {}, local, errors)
            return Report(
                generation, entry.prompt, outputs, waited, tuple(warnings), files_kept=False,
                price=_price(entry, generation, known=known is not None),
            )  # fmt: skip
        if generation.state == "completed":
            # Two looks (in this process or another on the store) must not save twice.
            await self._history.caught_up()  # an import under way, waited for as any read does
            async with self._saving.hold(generation.id, until=finish_by, poll=SAVE_POLL_SECONDS) as hold:
                # Read under the lock: a look that held it before may have saved the files.
                known = self._read_with(hold, warnings) if hold.read else await self._known(generation.id, warnings)
                entry = await self._updated_entry(generation, known)
                if hold.state == "busy":
                    warnings.append(BEING_SAVED)
                else:
                    entry, downloads, warning = await self._save_missing(
                        generation, entry, finish_by, news=_tells_more(known, entry), spool=scratch
                    )
                    generation, errors, spooled = downloads.generation, downloads.errors, downloads.local
                    warnings += [warning] if warning else []
        else:
            known = await self._known(generation.id, warnings)
            entry = await self._updated_entry(generation, known)
            if _tells_more(known, entry):
                await self._history.record(entry)
        files = {f.index: f for f in entry.files if self.contains(f.path)}
        local = {index: Path(saved.path) for index, saved in files.items() if not is_object(saved.path)}
        outputs = _outputs(generation, files, local | spooled, errors)
        if self._bucket is not None:
            await self._saving.send_release()  # not kept waiting by the bucket's trips
            outputs = await self._linked(outputs, warnings, scratch)
        price = _price(entry, generation, known=known is not None)
        return Report(generation, entry.prompt, outputs, waited, tuple(warnings), price=price)

    async def _linked(
        self, outputs: tuple[FinishedOutput, ...], warnings: list[str], scratch: Path | None
    ) -> tuple[FinishedOutput, ...]:
        """Outputs in the bucket with a fresh link each, and (into `scratch`, to be previewed) the
        bytes of those this call did not spool itself."""
        assert self._bucket is not None
        linked: list[FinishedOutput] = []
        for output in outputs:
            saved = output.saved
            if saved is None or not is_object(saved.path):
                linked.append(output)
                continue
            try:
                url, expires_at = await self._bucket.link(saved)
            except OutputError as exc:
                warnings.append(f"{exc}: use the API's link, and call get_generation again for one of ours.")
                url, expires_at = None, None
            local = output.local
            if local is None and scratch is not None:
                with contextlib.suppress(OutputError, OSError):  # no preview, but the link and the object stand
                    data = await self._bucket.read(saved)
                    local = scratch / f"{saved.sha256[:16]}-{name_of(saved.path)}"
                    await anyio.Path(local).write_bytes(data)
            linked.append(replace(output, link=url, link_expires_at=expires_at, local=local))
        if any(output.link for output in linked) and self._bucket.credentials.note:
            warnings.append(self._bucket.credentials.note)
        return tuple(linked)

    def _read_with(self, hold: Hold, warnings: list[str]) -> HistoryEntry | None:
        """What the history knows of a job, read in the trip that took its lock."""
        if hold.entry is None and self._history.behind:
            warnings.append(self._history.behind)
        return hold.entry

    async def _known(self, generation_id: str, warnings: list[str]) -> HistoryEntry | None:
        """What the history knows of a job; nothing, said in `warnings`, when it cannot be read."""
        try:
            known = await self._history.get(generation_id)
        except StoreError as exc:
            warnings.append(f"{exc} (This look went on without the history: an image may be saved a second time.)")
            return None
        if known is None and self._history.behind:
            warnings.append(self._history.behind)
        return known

    async def _updated_entry(self, generation: Generation, known: HistoryEntry | None) -> HistoryEntry:
        """The history's entry for `generation` (`known`), brought up to its state."""
        known = known or HistoryEntry(generation_id=generation.id)
        return known.model_copy(
            update={
                "state": generation.state,
                "failure_code": generation.failure_code,
                "model": generation.model or known.model,
                "type": generation.type,
                "created_at": generation.created_at or known.created_at,
            }
        )

    async def _download_unkept(
        self, generation: Generation, scratch: Path, finish_by: float
    ) -> tuple[Generation, dict[int, Path], dict[int, str]]:
        """Outputs this server does not keep, downloaded into `scratch` to be previewed: the
        generation (links refreshed if one was), where each landed, and why others did not."""
        downloads = Downloads(generation)
        stem = f"{generation.id}-output"
        await self._downloader.download_each(
            downloads, range(len(generation.output)), scratch, lambda index: f"{stem}-{index}", finish_by,
            out_of_time=OUT_OF_TIME_UNKEPT,
        )  # fmt: skip
        local = {index: Path(saved.path) for index, saved in downloads.saved.items()}
        return downloads.generation, local, downloads.errors

    async def _save_missing(
        self, generation: Generation, entry: HistoryEntry, finish_by: float, *, news: bool, spool: Path | None
    ) -> tuple[HistoryEntry, Downloads, str | None]:
        """Download the outputs not saved yet: the updated entry, what became of each (the
        generation, its links refreshed if one was; errors per output), a warning. `news`: the
        entry says more than the history (the job's end), so it is recorded even if nothing is
        saved. `spool`: where outputs bound for the bucket are downloaded first, to be previewed
        (None: a folder of their own, for the upload only)."""
        kept = {f.index: f for f in entry.files if self.contains(f.path) and _exists(f.path)}
        missing = [i for i in range(len(generation.output)) if i not in kept]
        downloads = Downloads(generation)
        if not missing:
            if news:  # queued: it goes with the release of the lock this is called under
                await self._history.record(entry, later=True)
            return entry, downloads, None
        folder, warning = (None, None) if self._bucket is not None else await self._local().writable()
        if folder is None and self._bucket is None:
            downloads.errors.update(dict.fromkeys(missing, warning or "no folder can be written"))
            return entry, downloads, warning
        created = file_created(generation.created_at)

        def stem(index: int) -> str:
            layer = generation.output[index].layer
            prompt = entry.prompt or ("layers" if entry.type == "layering" else None)
            label = layer.label if layer else None
            return output_stem(created=created, prompt=prompt, generation_id=generation.id, index=index, layer=label)

        try:
            if self._bucket is not None:
                warning = await self._bucket.save_each(
                    self._downloader, downloads, missing, stem, finish_by=finish_by, spool=spool
                )
            else:
                assert folder is not None
                warning = await self._save_in_folder(
                    downloads, missing, folder, stem, warning=warning, finish_by=finish_by
                )
        finally:
            # Recorded even when the call is cancelled part way: an output saved before the cancel
            # must not be downloaded again, under a second name, by the next look.
            for index, saved in downloads.saved.items():
                kept[index] = saved
                logger.info("saved %s output %d to %s", generation.id, index, saved.path)
            entry = entry.model_copy(update={"files": [kept[i] for i in sorted(kept)]})
            if downloads.saved or news:
                with anyio.CancelScope(shield=True):  # queued: it goes with the release of the lock
                    await self._history.record(entry, later=True)
                    if downloads.saved and self._on_saved is not None:
                        await self._on_saved(entry)
        return entry, downloads, warning

    async def _save_in_folder(
        self,
        downloads: Downloads,
        missing: list[int],
        folder: Path,
        stem: Callable[[int], str],
        *,
        warning: str | None,
        finish_by: float,
    ) -> str | None:
        """Download the `missing` outputs into `folder` (the temporary one, if the preferred one
        refuses the images themselves): the warning to give."""
        await self._downloader.download_each(downloads, missing, folder, stem, finish_by)
        if downloads.unwritable and folder == self._local().preferred:
            # The folder took the probe but not the image (a full disk, a quota): probed again,
            # it may give way to the temporary folder, where these outputs are tried once more.
            self._local().distrust()
            fallback, fallback_warning = await self._local().writable()
            if fallback is not None and fallback != folder:
                retried = sorted(downloads.unwritable)
                for index in retried:
                    del downloads.errors[index]
                await self._downloader.download_each(downloads, retried, fallback, stem, finish_by)
                return fallback_warning
        return warning


BEING_SAVED = (
    "Another look (perhaps another copy of this server) is saving this image right now: call get_generation "
    "in a moment for its saved file."
)


def _exists(path: str) -> bool:
    # A stat takes microseconds: cheaper in place than a trip to a worker thread. An object is
    # taken at its record's word (a request per look would cost more than it tells).
    return is_object(path) or os.path.isfile(path)


def _tells_more(known: HistoryEntry | None, entry: HistoryEntry) -> bool:
    """Whether `entry` tells the history something it does not know yet (a state, or anything)."""
    return known is None or entry.state != known.state or known.recorded_at == ""


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


def _outputs(
    generation: Generation, files: dict[int, SavedFile], local: dict[int, Path], errors: dict[int, str]
) -> tuple[FinishedOutput, ...]:
    return tuple(
        FinishedOutput(i, output, files.get(i), error=errors.get(i), local=local.get(i))
        for i, output in enumerate(generation.output)
    )


def _price(entry: HistoryEntry, generation: Generation, *, known: bool) -> Price:
    """What the generation costs, from what the history knows of its request: an estimate where
    it knows nothing (a job made elsewhere: its reference images are not known)."""
    references = sum(1 for record in entry.inputs if record.field.startswith("image_ref"))
    layers = len(generation.output) if generation.state == "completed" else None
    price = price_of(entry.model, entry.type, references=references, resolution=entry.resolution, layers=layers)
    if not known:
        price = Price(price.micro_usd, estimate=True)
    return settled_price(price, state=generation.state, failure_code=generation.failure_code)
