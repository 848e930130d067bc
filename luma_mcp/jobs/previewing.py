"""Previews of what a call returns, made once the generations are saved: one per image where each
fits the host's budget at a useful size, else one sheet; the layers of a split always on one
sheet beside their composite."""

from __future__ import annotations

from dataclasses import replace

from ..media.image_threads import in_image_thread
from ..media.previews import INLINE_BUDGET, PreviewMode
from ..media.sheets import preview_set
from .report import FinishedOutput, Report, SetReport


def _label(output: FinishedOutput, prefix: str = "") -> str:
    layer = output.output.layer
    return f"{prefix}{output.index} {layer.label}" if layer else f"{prefix}{output.index + 1}"


async def previewed(report: Report, mode: PreviewMode, budget: int = INLINE_BUDGET) -> Report:
    """`report` with the previews of its outputs, within `budget` bytes (a result's, by default)."""
    if mode == "none" or not report.outputs:
        return report
    paths = [output.local for output in report.outputs]
    labels = [_label(output) for output in report.outputs]
    layers = report.generation.type == "layering"
    previews = await in_image_thread(preview_set, paths, labels, mode, layers, budget)
    outputs = tuple(replace(output, preview=p) for output, p in zip(report.outputs, previews.each, strict=True))
    return replace(report, outputs=outputs, sheet=previews.sheet)


async def previewed_set(made: SetReport, mode: PreviewMode) -> SetReport:
    """`made` with the previews of all its members' outputs, sharing one budget (a set of one: as
    `previewed` does it)."""
    if len(made.members) == 1 and not made.failures:
        return replace(made, members=(await previewed(made.members[0], mode),))
    outputs = [(number, output) for number, member in enumerate(made.members) for output in member.outputs]
    if mode == "none" or not outputs:
        return made
    if any(len(member.outputs) > 1 for member in made.members):
        # A split among them: each member's own previews (a split's sheet), in an equal share.
        share = INLINE_BUDGET // len(made.members)
        return replace(made, members=tuple([await previewed(member, mode, share) for member in made.members]))
    paths = [output.local for _, output in outputs]
    labels = [_label(output, f"#{number + 1}.") for number, output in outputs]
    previews = await in_image_thread(preview_set, paths, labels, mode, False, INLINE_BUDGET)
    each = iter(previews.each)
    members = tuple(
        replace(member, outputs=tuple(replace(output, preview=next(each)) for output in member.outputs))
        for member in made.members
    )
    return replace(made, members=members, sheet=previews.sheet)
