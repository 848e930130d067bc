"""`Saver`: what becomes of a generation once looked at. A completed one has each output saved
once (even when two looks race), in the output folder or, when that cannot be written, in a
private temporary one; the history records the job from its creation to its files, and what it
cost. Where no files are kept (HTTP by default), the images are downloaded only to be previewed,
and the links are the images.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager
from pathlib import Path

import anyio

from ..api import Generation, GenerationRequest, ImageRef
from ..errors import StoreError
from ..media.folders import OutputFolder
from ..media.names import file_created, output_stem
from ..media.outputs import SavedFile
from ..media.previews import PreviewMode
from ..store.history import History
from ..store.records import HistoryEntry, InputRecord
from .downloads import OUT_OF_TIME_UNKEPT, Downloader, Downloads
from .locks import SharedLocks
from .pricing import Price, price_of, settled_price
from .report import FinishedOutput, Report

logger = logging.getLogger(__name__)

SAVE_POLL_SECONDS = 0.5
"""How often a look waiting for another process's save of the same job looks again."""


class Saver:
    def __init__(
        self,
        downloader: Downloader,
        *,
        folder: OutputFolder,
        history: History,
        keep_files: bool,
        saving: SharedLocks,
        on_saved: Callable[[HistoryEntry], Awaitable[None]] | None = None,
    ) -> None:
        """`saving` makes one look at a time, in any process on the store, save a job's images;
        `on_saved` hears of each entry that gained files (to list them as resources)."""
        self._downloader = downloader
        self._folder = folder
        self._history = history
        self._keep_files = keep_files
        self._on_saved = on_saved
        self._saving = saving

    def contains(self, path: str) -> bool:
        """Whether `path` is in this saver's folders: only such files are ever read back."""
        return self._folder.contains(path)

    async def record_created(self, generation: Generation, request: GenerationRequest) -> None:
        """Note a job just created (before anything else can happen to it)."""
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
        await self._history.record(entry)

    @contextmanager
    def scratch(self, preview: PreviewMode) -> Generator[Path | None]:
        """Where images this server does not keep are downloaded to be previewed, for the length of
        a call (None where files are kept, or no preview is wanted)."""
        if self._keep_files or preview == "none":
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
            async with self._saving.hold(generation.id, until=finish_by, poll=SAVE_POLL_SECONDS) as held:
                # Read under the lock: a look that held it before may have saved the files.
                known = await self._known(generation.id, warnings)
                entry = await self._updated_entry(generation, known)
                if held == "busy":
                    warnings.append(BEING_SAVED)
                else:
                    generation, entry, errors, warning = await self._save_missing(
                        generation, entry, finish_by, news=_tells_more(known, entry)
                    )
                    warnings += [warning] if warning else []
        else:
            known = await self._known(generation.id, warnings)
            entry = await self._updated_entry(generation, known)
            if _tells_more(known, entry):
                await self._history.record(entry)
        files = {f.index: f for f in entry.files if self.contains(f.path)}
        local = {index: Path(saved.path) for index, saved in files.items()}
        price = _price(entry, generation, known=known is not None)
        return Report(
            generation, entry.prompt, _outputs(generation, files, local, errors), waited, tuple(warnings), price=price
        )

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
        self, generation: Generation, entry: HistoryEntry, finish_by: float, *, news: bool
    ) -> tuple[Generation, HistoryEntry, dict[int, str], str | None]:
        """Download the outputs not on disk yet: the generation (links refreshed if one was), the
        updated entry, errors per output, a warning. `news`: the entry says more than the history
        (the job's end), so it is recorded even if nothing is saved."""
        on_disk = {f.index: f for f in entry.files if self.contains(f.path) and _exists(f.path)}
        missing = [i for i in range(len(generation.output)) if i not in on_disk]
        if not missing:
            if news:
                await self._history.record(entry)
            return generation, entry, {}, None
        folder, warning = await self._folder.writable()
        if folder is None:
            return generation, entry, dict.fromkeys(missing, warning or "no folder can be written"), warning
        created = file_created(generation.created_at)

        def stem(index: int) -> str:
            layer = generation.output[index].layer
            prompt = entry.prompt or ("layers" if entry.type == "layering" else None)
            label = layer.label if layer else None
            return output_stem(created=created, prompt=prompt, generation_id=generation.id, index=index, layer=label)

        downloads = Downloads(generation)
        try:
            await self._downloader.download_each(downloads, missing, folder, stem, finish_by)
            if downloads.unwritable and folder == self._folder.preferred:
                # The folder took the probe but not the image (a full disk, a quota): probed again,
                # it may give way to the temporary folder, where these outputs are tried once more.
                self._folder.distrust()
                fallback, fallback_warning = await self._folder.writable()
                if fallback is not None and fallback != folder:
                    folder, warning = fallback, fallback_warning
                    retried = sorted(downloads.unwritable)
                    for index in retried:
                        del downloads.errors[index]
                    await self._downloader.download_each(downloads, retried, folder, stem, finish_by)
        finally:
            # Recorded even when the call is cancelled part way: an output saved before the cancel
            # must not be downloaded again, under a second name, by the next look.
            for index, saved in downloads.saved.items():
                on_disk[index] = saved
                logger.info("saved %s output %d to %s", generation.id, index, saved.path)
            entry = entry.model_copy(update={"files": [on_disk[i] for i in sorted(on_disk)]})
            if downloads.saved or news:
                with anyio.CancelScope(shield=True):
                    await self._history.record(entry)
                    if downloads.saved and self._on_saved is not None:
                        await self._on_saved(entry)
        return downloads.generation, entry, downloads.errors, warning


BEING_SAVED = (
    "Another look (perhaps another copy of this server) is saving this image right now: call get_generation "
    "in a moment for its saved file."
)


def _exists(path: str) -> bool:
    # A stat takes microseconds: cheaper in place than a trip to a worker thread.
    return os.path.isfile(path)


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
