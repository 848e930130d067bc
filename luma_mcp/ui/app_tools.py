"""The tools only the view calls (`_meta.ui.visibility: ["app"]`): hosts that render MCP Apps hide
them from the model. Both are free and read-only. A client known to lack the extension (a model
that calls one anyway) gets a short answer and nothing is done; see `clients.known_without_apps`."""

from __future__ import annotations

import base64
import hashlib
from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, ImageContent, TextContent
from pydantic import Field

from ..jobs.report import no_progress
from ..tools.arguments import MAX_WAITED_IDS, GenerationIdArg
from ..tools.handlers import reported_as_tool_errors
from ..tools.results import generation_info, tool_result
from ..workspaces import AppState
from .clients import known_without_apps
from .offers import offers_for

RENDITIONS: dict[str, tuple[int, int]] = {"display": (1568, 300_000), "thumbnail": (384, 40_000)}
"""Rendition sizes: (longest edge in px, most bytes). `display` is what Claude's vision would
downscale to anyway; base64 of 300 KB keeps a result well under hosts' 1 MB."""

Size = Literal["display", "thumbnail"]


def _not_here(tool: str) -> CallToolResult:
    return CallToolResult(
        content=[
            TextContent(
                text=f"{tool} feeds the Luma image view in hosts that show MCP Apps; nothing was done. "
                "To see a generation, call get_generation."
            )
        ]
    )


async def view_generations(
    generation_ids: Annotated[list[GenerationIdArg], Field(min_length=1, max_length=MAX_WAITED_IDS)],
    ctx: Context[AppState],
) -> CallToolResult:
    """One look at generations, without previews (the view polls a pending job with it), plus the
    paid actions it may offer on each finished image, priced."""
    if known_without_apps(ctx):
        return _not_here("view_generations")
    with reported_as_tool_errors():
        workspace = ctx.request_context.lifespan_context.workspace(ctx)
        looked = await workspace.wait(generation_ids, 0.0, no_progress, "none")
    result = tool_result(looked, tool="get_generation")
    offers = [
        image.model_dump(mode="json")
        for report in looked.members
        for image in offers_for(generation_info(report, tool="get_generation"))
    ]
    result.structured_content = {**(result.structured_content or {}), "offers": offers}
    return result


async def view_image(
    generation_id: GenerationIdArg,
    ctx: Context[AppState],
    output_index: Annotated[int, Field(ge=0, le=9, description="Which output, from 0.")] = 0,
    size: Annotated[Size, Field(description="display (≤ 1568 px) or thumbnail (≤ 384 px).")] = "display",
) -> CallToolResult:
    """A rendition of one output, as an image block (never in structured content): from the saved
    file, or where nothing was saved (HTTP) from a fresh link, through this server."""
    if known_without_apps(ctx):
        return _not_here("view_image")
    max_edge, budget = RENDITIONS[size]
    with reported_as_tool_errors():
        workspace = ctx.request_context.lifespan_context.workspace(ctx)
        rendition = await workspace.rendition(generation_id, output_index, max_edge=max_edge, budget=budget)
    described = {
        "generation_id": generation_id,
        "output_index": output_index,
        "size": size,
        "media_type": rendition.media_type,
        "width": rendition.width,
        "height": rendition.height,
        "size_bytes": len(rendition.data),
        "sha256": hashlib.sha256(rendition.data).hexdigest(),
    }
    return CallToolResult(
        content=[
            TextContent(text=f"Output {output_index} of {generation_id}: {rendition.width}×{rendition.height}"),
            ImageContent(data=base64.b64encode(rendition.data).decode(), mime_type=rendition.media_type),
        ],
        structured_content=described,
    )
