"""`GenerationRunner`: a generation from request to saved file. Submit, wait within a budget
while reporting progress, then download, save and preview each output, once per generation."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread

from .api import Generation, GenerationOutput, GenerationRequest, LumaClient, SharedHttpClient
from .config import Settings
from .media.outputs import OutputError, Preview, SavedImage, download, file_created, make_preview, output_stem

logger = logging.getLogger(__name__)

Progress = Callable[[float, float | None, str], Awaitable[None]]
"""Receives (progress, total, message); progress only ever increases."""


async def no_progress(progress: float, total: float | None, message: str) -> None:
    """A `Progress` for callers that do not show any."""


@dataclass(frozen=True)
class FinishedOutput:
    """One output of a completed generation, as far as we got with it."""

    index: int
    output: GenerationOutput
    saved: SavedImage | None
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


class GenerationRunner:
    def __init__(self, client: LumaClient, http: SharedHttpClient, settings: Settings) -> None:
        self._client = client
        self._http = http
        self._settings = settings
        self._prompts: dict[str, str] = {}
        self._saved: dict[str, tuple[SavedImage, ...]] = {}
        self._locks: dict[str, anyio.Lock] = {}

    async def run(self, request: GenerationRequest, progress: Progress = no_progress) -> Report:
        """Submit `request` and wait up to the configured budget for the image."""
        generation = await self._client.create(request)
        self._prompts[generation.id] = request.prompt
        logger.info("generation %s queued (%s, %s)", generation.id, request.model, request.type)
        await progress(0, self._settings.wait_seconds, f"Queued as {generation.id}")
        return await self._wait(generation, self._settings.wait_seconds, progress)

    async def fetch(self, generation_id: str) -> Report:
        """One look at a generation; a completed one is saved (if it was not yet) and previewed."""
        return await self._finish(await self._client.get(generation_id), waited=None)

    async def wait(self, generation_id: str, max_wait: float, progress: Progress = no_progress) -> Report:
        """Poll until the generation is finished or `max_wait` passes."""
        return await self._wait(generation_id, max_wait, progress)

    async def _wait(self, generation: Generation | str, max_wait: float, progress: Progress) -> Report:
        clock = self._client.time
        started = clock.monotonic()
        last = 0.0

        async def on_update(current: Generation) -> None:
            nonlocal last
            elapsed = clock.monotonic() - started
            # Strictly increasing (the protocol asks it), and below the total kept for "completed".
            last = max(min(elapsed, 0.99 * max_wait), last + 0.001)
            await progress(last, max_wait, f"{current.state.capitalize()} · {elapsed:.0f} s of up to {max_wait:.0f} s")

        final = await self._client.poll(generation, max_wait=max_wait, on_update=on_update)
        waited = clock.monotonic() - started
        if final.state == "completed":
            await progress(max(max_wait, last + 0.001), max_wait, "Completed · saving the image")
        return await self._finish(final, waited=waited)

    async def _finish(self, generation: Generation, *, waited: float | None) -> Report:
        prompt = self._prompts.get(generation.id)
        if generation.state != "completed":
            return Report(generation, prompt, waited_seconds=waited)
        lock = self._locks.setdefault(generation.id, anyio.Lock())
        async with lock:  # two looks at once must not save the same image twice
            outputs = await self._save_all(generation, prompt)
        return Report(generation, prompt, outputs, waited)

    async def _save_all(self, generation: Generation, prompt: str | None) -> tuple[FinishedOutput, ...]:
        saved = self._saved.get(generation.id)
        results: list[FinishedOutput] = []
        for index, output in enumerate(generation.output):
            image = saved[index] if saved is not None else None
            error = None
            if image is None:
                stem = output_stem(
                    created=file_created(generation.created_at),
                    prompt=prompt,
                    generation_id=generation.id,
                    index=index,
                )
                try:
                    http = await self._http.get()
                    image = await download(http, output.url, self._settings.output_dir, stem)
                    logger.info("saved %s output %d to %s", generation.id, index, image.path)
                except (OutputError, OSError) as exc:
                    error = str(exc)
                    logger.warning("could not save %s output %d: %s", generation.id, index, exc)
                except Exception as exc:  # a paid image's id and URL must reach the caller, whatever broke
                    error = f"unexpected error while saving ({type(exc).__name__})"
                    logger.exception("could not save %s output %d", generation.id, index)
            preview = await self._preview(image.path) if image is not None else None
            results.append(FinishedOutput(index, output, image, preview, error))
        if all(r.saved is not None for r in results):
            self._saved[generation.id] = tuple(r.saved for r in results if r.saved is not None)
        return tuple(results)

    async def _preview(self, path: Path) -> Preview | None:
        try:
            return await anyio.to_thread.run_sync(lambda: make_preview(path, max_edge=self._settings.preview_max_edge))
        except OSError as exc:  # Pillow raises OSError subclasses for unreadable images
            logger.warning("no preview for %s: %s", path, exc)
            return None
