"""MCP resources over the history: `luma://generations/{id}` (the metadata, JSON) and
`luma://generations/{id}/images/{index}.png|jpg|webp|gif` (a saved image, under the extension of
its bytes, so the MIME type a client is told is the image's own), so clients that browse resources
can show what was made. Saved images are also listed one by one as they are made (`catalog.py`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from .errors import LumaError, OutputError
from .media.bucket import is_object
from .media.sniff import EXTENSIONS
from .workspaces import AppState  # at run time: the SDK reads `Context[AppState]` to inject the context

if TYPE_CHECKING:
    from mcp.server import MCPServer

    from .media.outputs import SavedFile
    from .store.records import HistoryEntry
    from .workspaces import Workspace


def image_uri(generation_id: str, saved: SavedFile) -> str:
    """The MCP resource URI of a saved image."""
    extension = EXTENSIONS.get(saved.media_type, saved.media_type.removeprefix("image/"))
    return f"luma://generations/{generation_id}/images/{saved.index}.{extension}"


async def read_saved(reader: Callable[[SavedFile], Awaitable[bytes]], saved: SavedFile) -> bytes:
    try:
        return await reader(saved)
    except OutputError as exc:
        # A file gone is saved again by the next look; an object is taken at its record's word (a
        # bucket down answers again later; one removed by a lifecycle rule stays gone).
        then = (
            "try again later, or get_generation gives the API's link"
            if is_object(saved.path)
            else "get_generation saves it again"
        )
        raise ResourceError(f"{exc}; {then}") from exc


async def resources_listed_first(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Middleware: `resources/list` answers once the images saved before start-up are listed
    (listed by the first one, a few seconds at most: see `catalog.py`), so a client that lists at
    once sees them; nothing else waits."""
    state = ctx.lifespan_context
    if ctx.method == "resources/list" and isinstance(state, AppState):
        await state.resources_listed()
    return await call_next(ctx)


def register_templates(server: MCPServer[AppState]) -> None:
    """Add the templates to `server` (by the first `resources/...` request: see `server.py`)."""

    async def entry_of(generation_id: str, ctx: Context[AppState]) -> tuple[HistoryEntry, Workspace]:
        try:
            workspace = ctx.request_context.lifespan_context.workspace(ctx)
            entry = await workspace.history.get(generation_id)
        except LumaError as exc:
            raise ResourceError(str(exc)) from exc
        if entry is None:
            raise ResourceNotFoundError(f"No generation {generation_id} in this server's history")
        return entry, workspace

    @server.resource(
        "luma://generations/{generation_id}",
        name="generation",
        title="Generation",
        description="What this server knows of a generation: prompt, model, state, inputs and saved files.",
        mime_type="application/json",
    )
    async def generation(generation_id: str, ctx: Context[AppState]) -> str:  # pyright: ignore[reportUnusedFunction]
        entry, _ = await entry_of(generation_id, ctx)
        return entry.model_dump_json(indent=2)

    def image_of_type(media_type: str) -> Callable[[str, str, Context[AppState]], Awaitable[bytes]]:
        """The reader of one template: saved images whose bytes are `media_type`, and no other (a
        PNG asked for as `.jpg` is not found, rather than served under the wrong type)."""

        async def image(generation_id: str, index: str, ctx: Context[AppState]) -> bytes:
            entry, workspace = await entry_of(generation_id, ctx)
            saved = next((f for f in entry.files if str(f.index) == index), None)
            # Only files in this server's own folders are served, whatever a history line says.
            if saved is None or not workspace.contains(saved.path):
                raise ResourceNotFoundError(f"Generation {generation_id} has no saved image {index}")
            if saved.media_type != media_type:
                raise ResourceNotFoundError(
                    f"Generation {generation_id}'s image {index} is {saved.media_type}, not {media_type}: "
                    f"read {image_uri(generation_id, saved)}"
                )
            return await read_saved(workspace.read_saved, saved)

        return image

    for media_type, extension in EXTENSIONS.items():
        server.resource(
            f"luma://generations/{{generation_id}}/images/{{index}}.{extension}",
            name=f"generation-image-{extension}",
            title="Saved image",
            description=f"An image this server saved as {extension.upper()}, by generation and output index.",
            mime_type=media_type,
        )(image_of_type(media_type))
