"""The MCP tools: argument models (`arguments`), results (`results`), functions (`handlers`),
and their registration with flat input schemas (`flat`), listed from stored schemas and made on
their first call (`deferred`): importing this package imports none of the models or functions."""

from __future__ import annotations

from mcp.server.mcpserver.tools import Tool
from mcp_types import ToolAnnotations

from ..config import Settings
from ..ui import view_meta
from .deferred import Listing, deferred

GENERATES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
UPLOADS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
LOOKS = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
SPENDS_NOTHING = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


def _model_tool(listing: Listing) -> Tool:
    """The tool, made with its function in `handlers` (of the tool's name)."""
    from . import handlers
    from .flat import model_tool

    return model_tool(getattr(handlers, listing.name), listing)


def build_tools(settings: Settings) -> list[Tool]:
    """The tools, each with its flat schema; the generating and reading ones shown with the MCP App view.
    Each is made on its first call (see `deferred`)."""
    return [deferred(listing, _model_tool) for listing in _listings(settings)]


def _listings(settings: Settings) -> list[Listing]:
    wait = f"{settings.wait_seconds:g} s"
    return [
        Listing(
            name="generate_image",
            title="Generate image",
            description=(
                "Create an image from a text prompt with Luma's uni-1 models. Returns a preview you can see, "
                f"the path of the saved file, a download link, a generation_id and the cost. Waits up to {wait}; if "
                "the image is not ready by then it returns the generation_id: call wait_for_generation with it. "
                "count (1–4) makes several candidates at once. Each image is paid (uni-1 $0.0404, uni-1-max $0.10, "
                "+$0.003 per reference image)."
            ),
            annotations=GENERATES,
            meta=view_meta(),
        ),
        Listing(
            name="edit_image",
            title="Edit image",
            description=(
                "Change an existing image following a text instruction; the result keeps the source's size. "
                'The source is usually an earlier result, {"generation_id": "..."} (one layer of a split: add '
                '"output_index"), or a URL or base64 data. Returns like generate_image, and is paid like it '
                "(uni-1 $0.0434, uni-1-max $0.103, +$0.003 per reference image)."
            ),
            annotations=GENERATES,
            meta=view_meta(),
        ),
        Listing(
            name="split_into_layers",
            title="Split into layers",
            description=(
                "Split an image into its layers (uni-1): 1–10 transparent PNGs, front to back, the background "
                "last, each with a label, a description and how soft its edges are. Returns them saved, with one "
                'preview of all. Edit one layer with edit_image, source {"generation_id": "...", "output_index": N}. '
                f"Waits up to {wait} like generate_image. Paid per layer (no published price: about $0.0434 a layer "
                "at 1k, twice at 2k)."
            ),
            annotations=GENERATES,
            meta=view_meta(),
        ),
        Listing(
            name="get_generation",
            title="Get generation",
            description=(
                "Look up a generation by generation_id: its state and, once completed, the saved file, a preview "
                "and a fresh download link (links expire after an hour). Starts no new job and costs nothing."
            ),
            annotations=LOOKS,
            meta=view_meta(),
        ),
        Listing(
            name="wait_for_generation",
            title="Wait for generation",
            description=(
                "Wait for a generation (or several: generation_ids) to finish, then return it as get_generation "
                "does. Use it when a generating tool returned before the image was ready. Returns when the wait "
                "ends even if a job is still running; call it again then. Costs nothing."
            ),
            annotations=LOOKS,
            meta=view_meta(),
        ),
        Listing(
            name="get_spending",
            title="Get spending",
            description=(
                "What this key has spent today and this month (UTC), against the server's caps and what they "
                "leave, the last calls and their costs, and the price table with its version. Read-only and free; "
                "check it before a large batch."
            ),
            annotations=SPENDS_NOTHING,
        ),
        Listing(
            name="upload_image",
            title="Upload image",
            description=(
                "Upload a local image file (or base64 data) once with the Luma Files API and get a file_id to use "
                'as an image input, {"file_id": "..."}, as often as needed. Large images given as path or data are '
                "uploaded this way by the generating tools anyway. Free; no image is generated."
            ),
            annotations=UPLOADS,
        ),
        Listing(
            name="list_generations",
            title="List generations",
            description=(
                "List the images this server has made (they survive restarts), most recent first, optionally only "
                "those whose prompt contains some words. Use it to find an earlier image's generation_id, e.g. to "
                "edit 'the fox from yesterday'."
            ),
            annotations=LOOKS,
            meta=view_meta(),
        ),
    ]


__all__ = ["build_tools"]
