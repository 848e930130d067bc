"""What a tool call learned of its generations: the typed outcome every tool renders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from ..api import Generation, GenerationOutput
from ..media.outputs import SavedFile
from ..media.previews import Preview
from .pricing import Price

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
    preview: Preview | None = None
    error: str | None = None
    """Why it was not saved (the URL still works for an hour; `get_generation` tries again)."""
    local: Path | None = None
    """Where its bytes are on this machine now, to preview: the saved file, or a scratch copy."""
    link: str | None = None
    """A link of this server's own to the saved object (presigned), where outputs go to a bucket."""
    link_expires_at: float | None = None
    """When `link` stops working (seconds since the epoch): as set, or sooner if the credentials expire."""


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
    price: Price | None = None
    """What the generation costs (a reused one: nothing more); None where it cannot be told."""
    sheet: Preview | None = None
    """One preview of all its outputs (the layers of a split), instead of one per output."""


@dataclass(frozen=True)
class SetReport:
    """Several generations answered together: `count` images from one call, or a wait for
    several ids. `failures` names each one that could not be made or looked at."""

    members: tuple[Report, ...]
    failures: tuple[str, ...] = ()
    sheet: Preview | None = None
    """One preview of all the members' images, where one each would be too small."""
    numbers: tuple[int, ...] = ()
    """Each member's place in what was asked, from 1 (the failures keep theirs); empty: 1, 2, …"""
    asked: int = 0
    """How many were asked for (0: as many as there are members)."""
    unsure: tuple[Price, ...] = ()
    """The price of each member whose create was sent but whose answer was lost: it may be charged."""
