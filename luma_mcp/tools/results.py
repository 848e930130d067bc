"""What every tool returns: a `GenerationResult` as structured content (its schema is the tools'
`outputSchema`), plus content for the model and the user: a short text, a preview image, and links
to the saved file and the download URL. Image bytes appear only in the preview, never in
structured content."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from mcp_types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent
from pydantic import BaseModel, Field

from ..jobs.report import FinishedOutput, Report
from ..media.resolver import Upload
from ..resources import image_uri
from ..store.records import HistoryEntry

FAILURE_ADVICE = {
    "content_moderated": "Moderation blocked it: rephrase the prompt or use other input images.",
    "budget_exhausted": "The account's budget is spent: add credits before trying again.",
    "image_too_large": "An input image is too large: use a smaller one.",
    "unsupported_format": "An input image has an unsupported format: use PNG, JPEG, WebP or a still GIF.",
    "corrupt_input": "An input image could not be decoded: use another file.",
    "invalid_request": "The request cannot be processed as given: change it.",
}


class LayerInfo(BaseModel):
    index: int = Field(description="Position of the layer, 0 at the back.")
    label: str = Field(description="What the layer holds, e.g. background.")
    description: str = Field(description="A longer description of the layer.")
    alpha_hint: str = Field(description="Edge transparency: soft, hard or none.")


class OutputInfo(BaseModel):
    """One image of a generation."""

    index: int = Field(description="Position among the generation's outputs, from 0.")
    url: str = Field(description="Download URL; it expires, get_generation gives a fresh one.")
    url_expires_at: str | None = Field(description="When url stops working (UTC, ISO 8601).")
    path: str | None = Field(description="Where the image was saved on this machine, if it was.")
    media_type: str | None = Field(description="MIME type of the saved image.")
    width: int | None = Field(description="Width in pixels.")
    height: int | None = Field(description="Height in pixels.")
    size_bytes: int | None = Field(description="Size of the saved file in bytes.")
    layer: LayerInfo | None = Field(default=None, description="For layering: what this layer holds.")
    error: str | None = Field(default=None, description="Why the image was not saved, if it was not.")


class GenerationResult(BaseModel):
    """Where a generation stands, and what to do next."""

    generation_id: str = Field(description="Id to wait on, look up, or edit from (source: {generation_id}).")
    state: Literal["queued", "processing", "completed", "failed"] = Field(description="Where the job is.")
    model: str = Field(description="The model that made it.")
    type: str = Field(description="image, image_edit or layering.")
    prompt: str | None = Field(description="The prompt, when this server submitted it.")
    created_at: str = Field(description="When the job was submitted (UTC, ISO 8601).")
    outputs: list[OutputInfo] = Field(description="The finished images; empty until completed.")
    failure_code: str | None = Field(description="Why it failed, as the API's code.")
    failure_reason: str | None = Field(description="Why it failed, in words.")
    retryable: bool | None = Field(description="For a failure: may the same request succeed if sent again.")
    waited_seconds: float | None = Field(description="How long this call waited for the job.")
    next_step: str = Field(description="What to do next.")
    warnings: list[str] = Field(description="Things the user should know, e.g. images saved in a temporary folder.")
    reused: bool = Field(
        description="True when an identical request made just before is returned instead of paying again."
    )


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


SAVED_FIELDS = {"path", "media_type", "width", "height", "size_bytes"}
"""What an output shows of its saved file (`SavedFile`): all None when it was not saved."""


def _output_info(finished: FinishedOutput) -> OutputInfo:
    layer = finished.output.layer
    saved = finished.saved.model_dump(include=SAVED_FIELDS) if finished.saved else dict.fromkeys(SAVED_FIELDS)
    return OutputInfo(
        index=finished.index,
        url=finished.output.url,
        url_expires_at=_iso(finished.output.url_expires_at),
        layer=LayerInfo(**layer.model_dump()) if layer else None,
        error=finished.error,
        **saved,
    )


MAKERS = {"image": "generate_image", "image_edit": "edit_image"}
"""The tool that makes each type of generation: the one to call again after a transient failure."""


def _next_step(report: Report, tool: str) -> str:
    generation = report.generation
    gid = generation.id
    # A look (get/wait) cannot make the image again: advise the tool that makes this kind.
    maker = tool if tool in MAKERS.values() else MAKERS.get(generation.type, "the tool that made it")
    match generation.state:
        case "completed":
            if not report.files_kept and report.outputs:
                edit = f'edit_image with source {{"generation_id": "{gid}"}}'
                return f"This server keeps no files: the links hold the images for an hour. To change one, call {edit}."
            if not report.outputs:
                return (
                    f"The job completed without an image (the API lost it; such jobs are refunded). "
                    f"Call get_generation with generation_id {gid} in a moment; if still empty, call {maker} again."
                )
            if any(o.saved is None for o in report.outputs):
                return f"Some images were not saved; call get_generation with generation_id {gid} to try again."
            edit = f'call edit_image with source {{"generation_id": "{gid}"}}'
            return f"Show the user the saved image. To change it, {edit}."
        case "failed":
            if generation.retryable:
                return f"This failure is transient: call {maker} again with the same arguments."
            advice = FAILURE_ADVICE.get(generation.failure_code or "", "Change the request before trying again.")
            return f"Sending the same request again will not help. {advice}"
        case _:
            return f"Call wait_for_generation with generation_id {gid}; the job keeps running and nothing is lost."


def generation_result(report: Report, *, tool: str) -> GenerationResult:
    generation = report.generation
    return GenerationResult(
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
        next_step=_next_step(report, tool),
        warnings=list(report.warnings),
        reused=report.reused_after is not None,
    )


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.0f} kB"


def _summary(result: GenerationResult, reused_after: float | None, *, files_kept: bool) -> str:
    text = _state_summary(result, files_kept=files_kept)
    if reused_after is not None:
        text = (
            f"An identical request was made {reused_after:.0f} s ago: its generation is returned and nothing was "
            "charged again (new_variation=true asks for a new image).\n" + text
        )
    return text


def _state_summary(result: GenerationResult, *, files_kept: bool) -> str:
    gid = result.generation_id
    if result.state == "failed":
        return f"Generation {gid} failed ({result.failure_code}): {result.failure_reason}\n{result.next_step}"
    if result.state != "completed":
        waited = f" after {result.waited_seconds:g} s" if result.waited_seconds is not None else ""
        return f"Generation {gid} is still {result.state}{waited}.\n{result.next_step}"
    lines = [f"Generation {gid} completed."]
    for output in result.outputs:
        label = f"Image {output.index + 1}" + (f" ({output.layer.label})" if output.layer else "")
        if output.path:
            format_name = (output.media_type or "").removeprefix("image/").upper()
            lines.append(
                f"{label}: {output.width}×{output.height} {format_name}, {_size(output.size_bytes or 0)}, "
                f"saved to {output.path}"
            )
        elif not files_kept:  # nothing is saved here: the link is the image
            expiry = f" until {output.url_expires_at}" if output.url_expires_at else " for an hour"
            problem = f" ({output.error})" if output.error else ""
            lines.append(f"{label}: download it from {output.url} (it works{expiry}){problem}")
        else:
            lines.append(f"{label}: not saved ({output.error}); download it from {output.url}")
    lines += [f"Warning: {warning}" for warning in result.warnings]
    lines.append(result.next_step)
    return "\n".join(lines)


def tool_result(report: Report, *, tool: str, failure_is_error: bool = False) -> CallToolResult:
    """The whole answer of a tool: structured result, text, previews and links.

    `failure_is_error`: for the generating tools a failed job is a failed call; for the tools that
    only look, it is a successful report of a failure."""
    result = generation_result(report, tool=tool)
    structured = result.model_dump(mode="json")
    content: list[ContentBlock] = [
        TextContent(text=_summary(result, report.reused_after, files_kept=report.files_kept)),
        TextContent(text=result.model_dump_json(exclude_none=True)),
    ]
    for finished, info in zip(report.outputs, result.outputs, strict=True):
        if finished.preview is not None:
            content.append(
                ImageContent(
                    data=base64.b64encode(finished.preview.data).decode(), mime_type=finished.preview.media_type
                )
            )
        if finished.saved is not None:
            path = Path(finished.saved.path)
            content.append(
                ResourceLink(
                    uri=path.as_uri(),
                    name=path.name,
                    title="Saved image",
                    mime_type=finished.saved.media_type,
                    size=finished.saved.size_bytes,
                )
            )
            content.append(  # the same file, readable through MCP (resources/read) by any client
                ResourceLink(
                    uri=image_uri(result.generation_id, finished.saved),
                    name=path.name,
                    title="Saved image (MCP resource)",
                    mime_type=finished.saved.media_type,
                    size=finished.saved.size_bytes,
                )
            )
        expiry = f" (expires {info.url_expires_at})" if info.url_expires_at else ""
        content.append(
            ResourceLink(
                uri=info.url, name=f"output-{info.index + 1}", title=f"Download link{expiry}", mime_type=info.media_type
            )
        )
    is_error = failure_is_error and result.state == "failed"
    return CallToolResult(content=content, structured_content=structured, is_error=is_error)


class GenerationList(BaseModel):
    """Generations this server has made, most recent first."""

    generations: list[HistoryEntry] = Field(description="Each with its prompt, state and saved files.")
    next_step: str = Field(description="What to do next.")


def list_result(entries: list[HistoryEntry], *, query: str | None) -> CallToolResult:
    """The answer of list_generations: the entries as structured content and as lines of text."""
    if entries:
        next_step = (
            'To change one, call edit_image with source {"generation_id": "<its id>"}; '
            "get_generation shows it again with a preview."
        )
    else:
        next_step = "Nothing matches; try fewer words." if query else "Nothing made yet: call generate_image."
    listing = GenerationList(generations=entries, next_step=next_step)
    lines = [f"{len(entries)} generation(s)" + (f" matching {query!r}" if query else "") + ", most recent first:"]
    for entry in entries:
        files = ", ".join(f.path for f in entry.files) or "(not saved)"
        prompt = (entry.prompt or "")[:80]
        lines.append(
            f"- {entry.created_at or '?'} {entry.generation_id} {entry.state} {entry.model}: {prompt!r} → {files}"
        )
    lines.append(next_step)
    return CallToolResult(
        content=[TextContent(text="\n".join(lines))],
        structured_content=listing.model_dump(mode="json"),
    )


class UploadResult(BaseModel):
    """An image uploaded with the Files API, ready to use as an input."""

    file_id: str = Field(description='Use it as an image input: {"file_id": "..."}, as often as needed.')
    media_type: str = Field(description="MIME type of the image.")
    size_bytes: int = Field(description="Size in bytes.")
    sha256: str = Field(description="SHA-256 of the bytes.")
    reused: bool = Field(description="True when the same image was uploaded earlier and that file is reused.")
    next_step: str = Field(description="What to do next.")


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
    text = f"{name}: {how}, file_id {upload.file_id} ({_size(upload.size_bytes)}). {result.next_step}"
    return CallToolResult(content=[TextContent(text=text)], structured_content=result.model_dump(mode="json"))
