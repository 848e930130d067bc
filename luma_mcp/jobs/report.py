"""What a tool call learned of a generation: the typed outcome every tool renders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..api import Generation, GenerationOutput
from ..media.outputs import SavedFile
from ..media.previews import Preview

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
