"""What every tool returns: structured content (the models in `result_models`, each a tool's
`outputSchema`), and content for the model and the user: a short text, previews, and links to the
saved files and the download URLs. Image bytes appear only in the previews, never in structured
content. Generating tools also say what the call spent in `_meta.cost`, for hosts that bill."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from mcp_types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent

from ..jobs.pricing import Price
from ..jobs.report import FinishedOutput, Report, SetReport
from ..media.bucket import is_object, name_of
from ..media.previews import Preview
from ..media.resolver import Upload
from ..resources import image_uri
from ..store.records import HistoryEntry
from .result_models import GenerationInfo, GenerationList, GenerationResult, LayerInfo, OutputInfo, UploadResult
from .summaries import next_step, set_next_step, set_summary, summary

SAVED_FIELDS = {"path", "media_type", "width", "height", "size_bytes"}
"""What an output shows of its saved file (`SavedFile`): all None when it was not saved."""


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def _output_info(finished: FinishedOutput) -> OutputInfo:
    layer = finished.output.layer
    saved = finished.saved.model_dump(include=SAVED_FIELDS) if finished.saved else dict.fromkeys(SAVED_FIELDS)
    return OutputInfo(
        index=finished.index,
        url=finished.output.url,
        url_expires_at=_iso(finished.output.url_expires_at),
        layer=LayerInfo.model_validate(layer.model_dump()) if layer else None,
        error=finished.error,
        link=finished.link,
        link_expires_at=_iso(finished.link_expires_at),
        **saved,
    )


def emulator_links(report: Report) -> list[str]:
    """What a result of the embedded emulator says of its links, which lead nowhere outside this
    server (`http://storage.luma-emulator.test/...`): where the images are instead."""
    if not report.outputs:
        return []
    gid, many = report.generation.id, len(report.outputs) > 1
    saved = [finished.saved for finished in report.outputs if finished.saved is not None]
    where = "; ".join(f"{file.path} ({image_uri(gid, file)})" for file in saved)
    if not saved:
        use = "look at the preview, or call get_generation to save the image"
    elif len(saved) > 1:
        use = f"use the saved files or their luma:// resources: {where}"
    else:
        use = f"use the saved file or its luma:// resource: {where}"
    links = (
        "download links are the embedded emulator's and work"
        if many
        else "download link is the embedded emulator's and works"
    )
    return [f"The {links} only inside this server (--emulator): {use}."]


def generation_info(report: Report, *, tool: str, emulated: bool = False) -> GenerationInfo:
    """`emulated`: the links are the embedded emulator's, which nothing outside this server opens."""
    generation = report.generation
    return GenerationInfo(
        generation_id=generation.id,
        state=generation.state,
        model=generation.model,
        type=generation.type,
        prompt=report.prompt,
        created_at=generation.created_at,
        outputs=[_output_info(o) for o in report.outputs],
        failure_code=generation.failure_code,
        failure_reason=generation.failure_reason,
        retryable=generation.retryable,
        waited_seconds=None if report.waited_seconds is None else round(report.waited_seconds, 1),
        next_step=next_step(report, tool),
        warnings=list(report.warnings) + (emulator_links(report) if emulated else []),
        reused=report.reused_after is not None,
        cost_usd=None if report.price is None else report.price.usd,
        cost_is_estimate=report.price is not None and report.price.estimate,
    )


def _set_state(members: list[GenerationInfo]) -> Literal["queued", "processing", "completed", "failed"]:
    """A set's state: completed when every member ended and one completed, failed when all failed,
    else the least advanced of those still running."""
    states = {member.state for member in members}
    if "queued" in states:
        return "queued"
    if "processing" in states:
        return "processing"
    return "completed" if "completed" in states else "failed"


def _total(made: SetReport) -> Price | None:
    """What the set costs: its members, and (an estimate) each member whose answer was lost."""
    prices = [member.price for member in made.members]
    if any(price is None for price in prices):
        return None
    total = sum((price for price in prices if price is not None), Price(0))
    for unsure in made.unsure:
        total += Price(unsure.micro_usd, estimate=True)
    return total


def _cost_meta(made: SetReport, total: Price, model: str) -> dict[str, Any]:
    """`_meta.cost` for hosts that bill: the call's total, and each generation's part, `final` once
    its price cannot change (a finished job with a published price), so a host can reconcile."""
    parts = [
        {
            "generation_id": report.generation.id,
            "usd": report.price.usd if report.price else None,
            "final": report.generation.terminal and report.price is not None and not report.price.estimate,
        }
        for report in made.members
    ]
    parts += [{"generation_id": None, "usd": unsure.usd, "final": False} for unsure in made.unsure]
    cost: dict[str, Any] = {"usd": total.usd, "model": model, "provider": "luma", "generations": parts}
    if total.estimate:
        cost["estimate"] = True
    return cost


def _preview_block(preview: Preview) -> ImageContent:
    return ImageContent(data=base64.b64encode(preview.data).decode(), mime_type=preview.media_type)


def _output_blocks(report: Report, result: GenerationInfo, *, emulated: bool) -> list[ContentBlock]:
    """Each output's preview (when it has its own), saved file (as a file and an MCP resource) and
    link (said to be the emulator's, where it is)."""
    blocks: list[ContentBlock] = []
    for finished, info in zip(report.outputs, result.outputs, strict=True):
        if finished.preview is not None:
            blocks.append(_preview_block(finished.preview))
        saved = finished.saved
        if saved is not None:
            # The file (or our link to the object), and the same image readable through MCP
            # (resources/read) by any client.
            kept = [(Path(saved.path).as_uri(), "Saved image")] if not is_object(saved.path) else []
            if info.link:
                kept = [(info.link, f"Saved image (link until {info.link_expires_at})")]
            for uri, title in (*kept, (image_uri(result.generation_id, saved), "Saved image (MCP resource)")):
                blocks.append(
                    ResourceLink(
                        uri=uri,
                        name=name_of(saved.path),
                        title=title,
                        mime_type=saved.media_type,
                        size=saved.size_bytes,
                    )
                )
        expiry = f" (expires {info.url_expires_at})" if info.url_expires_at else ""
        title, description = f"Download link{expiry}", None
        if emulated:
            title = "The embedded emulator's link (works only inside this server)"
            description = "A stand-in for a download link: open the saved file or its luma:// resource instead."
        blocks.append(
            ResourceLink(
                uri=info.url,
                name=f"output-{info.index + 1}",
                title=title,
                description=description,
                mime_type=info.media_type,
            )
        )
    return blocks


def tool_result(
    made: SetReport,
    *,
    tool: str,
    failure_is_error: bool = False,
    spent: bool = False,
    spending: dict[str, Any] | None = None,
    emulated: bool = False,
) -> CallToolResult:
    """The whole answer of a tool: structured result, text, previews and links.

    `failure_is_error`: for the generating tools a failed job is a failed call; for the tools that
    only look, it is a successful report of a failure. `spent`: the call made the generations (its
    cost goes in `_meta.cost`); `spending`: the running total after it (`_meta.spending`).
    `emulated`: the links are the embedded emulator's (`--emulator`), which nothing outside this
    server can open: the result says so, and where the images are."""
    members = [generation_info(report, tool=tool, emulated=emulated) for report in made.members]
    total = _total(made)
    if len(members) == 1 and not made.failures and made.asked <= 1:
        whole, report = GenerationResult.model_validate(members[0].model_dump()), made.members[0]
        text = summary(whole, report.reused_after, files_kept=report.files_kept, emulated=emulated)
    else:
        whole = GenerationResult.model_validate(
            {
                **members[0].model_dump(),
                "state": _set_state(members),
                "next_step": set_next_step(members, made.members, lost=bool(made.unsure)),
                "warnings": list(made.failures),
                "cost_usd": None if total is None else total.usd,
                "cost_is_estimate": total is not None and total.estimate,
                "reused": all(member.reused for member in members),
                "generations": members,
            }
        )
        what = "image" if tool in ("generate_image", "edit_image", "split_into_layers") else "generation"
        numbers = made.numbers or tuple(range(1, len(members) + 1))
        listed = [
            (number, member, report) for number, member, report in zip(numbers, members, made.members, strict=True)
        ]
        text = set_summary(whole, listed, what=what, asked=made.asked or len(members), emulated=emulated)
    content: list[ContentBlock] = [TextContent(text=text), TextContent(text=whole.model_dump_json(exclude_none=True))]
    sheets = [made.sheet, *(report.sheet for report in made.members)]
    content += [_preview_block(sheet) for sheet in sheets if sheet is not None]
    for report, result in zip(made.members, members, strict=True):
        content += _output_blocks(report, result, emulated=emulated)
    meta = {"cost": _cost_meta(made, total, whole.model)} if spent and total is not None else None
    if spending is not None:
        meta = {**(meta or {}), "spending": spending}
    is_error = failure_is_error and whole.state == "failed"
    return CallToolResult(
        content=content, structured_content=whole.model_dump(mode="json"), is_error=is_error, _meta=meta
    )


def list_result(
    entries: list[HistoryEntry], *, query: str | None, next_offset: int | None = None, warnings: Sequence[str] = ()
) -> CallToolResult:
    """The answer of list_generations: the entries as structured content and as lines of text."""
    if warnings and not entries:
        next_step = "The history could not be read (see the warning): call list_generations again in a moment."
    elif entries:
        next_step = (
            'To change one, call edit_image with source {"generation_id": "<its id>"}; '
            "get_generation shows it again with a preview."
        )
    else:
        next_step = "Nothing matches; try fewer words." if query else "Nothing made yet: call generate_image."
    if next_offset is not None:
        next_step += f" Older ones: call list_generations again with offset={next_offset}."
    listing = GenerationList(generations=entries, next_offset=next_offset, warnings=list(warnings), next_step=next_step)
    lines = [f"{len(entries)} generation(s)" + (f" matching {query!r}" if query else "") + ", most recent first:"]
    for entry in entries:
        files = ", ".join(f.path for f in entry.files) or "(not saved)"
        prompt = (entry.prompt or "")[:80]
        lines.append(
            f"- {entry.created_at or '?'} {entry.generation_id} {entry.state} {entry.model}: {prompt!r} → {files}"
        )
    lines += [f"Warning: {warning}" for warning in warnings]
    lines.append(next_step)
    return CallToolResult(
        content=[TextContent(text="\n".join(lines))],
        structured_content=listing.model_dump(mode="json"),
    )


def upload_result(upload: Upload, name: str) -> CallToolResult:
    result = UploadResult(
        file_id=upload.file_id,
        media_type=upload.media_type,
        size_bytes=upload.size_bytes,
        sha256=upload.sha256,
        reused=upload.reused,
        next_step=f'Use it in generate_image or edit_image as {{"file_id": "{upload.file_id}"}}.',
    )
    how = "reused the earlier upload of the same image" if upload.reused else "uploaded"
    size = (
        f"{upload.size_bytes / 1_000_000:.1f} MB"
        if upload.size_bytes >= 100_000
        else f"{upload.size_bytes / 1000:.0f} kB"
    )
    text = f"{name}: {how}, file_id {upload.file_id} ({size}). {result.next_step}"
    return CallToolResult(content=[TextContent(text=text)], structured_content=result.model_dump(mode="json"))
