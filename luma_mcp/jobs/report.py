"""What a tool call learned of its generations: the typed outcome every tool renders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..api import Generation, GenerationOutput
from ..errors import LumaError, OutcomeUnknownError
from ..media.outputs import SavedFile
from ..media.previews import Preview
from ..store.base import Totals
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
    spent: Totals | None = None
    """What its account had spent today and this month once this look was settled (None where the
    store could not say)."""


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
    spent: Totals | None = None
    """A generating call's: what its account has spent today and this month, once it is done (None
    where the store could not say)."""


def set_of(
    results: Sequence[Report | LumaError | None], notes: tuple[str, ...], *, what: str, unsure: Price | None = None
) -> SetReport:
    """The members that stand, each with its place in what was asked, and the failures of the
    others. When none stands: the error itself for one, else one error naming every member's cause,
    those that may have been charged (an answer lost) first. `unsure` is a member's price, counted
    for each whose create was sent and answer lost."""
    errors = [(number, result) for number, result in enumerate(results, 1) if isinstance(result, LumaError)]
    lost = [number for number, error in errors if isinstance(error, OutcomeUnknownError)]
    failures = tuple(
        f"{what.capitalize()} {number} of {len(results)}: {error}"
        for number, error in sorted(errors, key=lambda item: item[0] not in lost)
    )
    standing = [(number, result) for number, result in enumerate(results, 1) if isinstance(result, Report)]
    if not standing and errors:
        if len(results) == 1:
            raise errors[0][1]
        raise LumaError(f"None of the {len(results)} {what}s could be made:\n- " + "\n- ".join(failures))
    members = tuple(report for _, report in standing)
    if members and notes:
        members = (replace(members[0], warnings=notes + members[0].warnings), *members[1:])
    return SetReport(
        members,
        failures,
        numbers=tuple(number for number, _ in standing),
        asked=len(results),
        unsure=tuple(unsure for _ in lost) if unsure is not None else (),
    )
