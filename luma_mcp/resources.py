"""MCP resources over the history: `luma://generations/{id}` (the metadata, JSON) and
`luma://generations/{id}/images/{index}.png|jpg|webp|gif` (a saved image, under the extension of
its bytes, so the MIME type a client is told is the image's own), so clients that browse resources
can show what was made. Saved images are also listed one by one as they are made."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.server.mcpserver.resources import Resource
from mcp.server.subscriptions import ResourcesListChanged, SubscriptionBus
from pydantic import Field

from .errors import LumaError, OutputError, StoreError
from .media.bucket import is_object, name_of
from .media.outputs import SavedFile
from .media.sniff import EXTENSIONS
from .store.records import HistoryEntry
from .workspaces import AppState, Workspace  # at run time: the SDK reads `Context[AppState]` to inject the context

if TYPE_CHECKING:
    from mcp.server import MCPServer

logger = logging.getLogger(__name__)


def image_uri(generation_id: str, saved: SavedFile) -> str:
    """The MCP resource URI of a saved image."""
    extension = EXTENSIONS.get(saved.media_type, saved.media_type.removeprefix("image/"))
    return f"luma://generations/{generation_id}/images/{saved.index}.{extension}"


class SavedImageResource(Resource):
    """A saved image, read from its file (or object, in a bucket) when asked for."""

    saved: SavedFile = Field(exclude=True)
    reader: Callable[[SavedFile], Awaitable[bytes]] = Field(exclude=True)

    async def read(self) -> bytes:
        return await _read_saved(self.reader, self.saved)


async def _read_saved(reader: Callable[[SavedFile], Awaitable[bytes]], saved: SavedFile) -> bytes:
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


def image_resources(entry: HistoryEntry, reader: Callable[[SavedFile], Awaitable[bytes]]) -> list[SavedImageResource]:
    return [
        SavedImageResource(
            uri=image_uri(entry.generation_id, saved),
            name=name_of(saved.path),
            title=(entry.prompt or entry.generation_id)[:80],
            description=f"{saved.width}×{saved.height} {saved.media_type}, generation {entry.generation_id}",
            mime_type=saved.media_type,
            saved=saved,
            reader=reader,
        )
        for saved in entry.files
    ]


LISTED_AT_START = 100
"""Saved images from earlier runs listed as resources (all stay readable by URI)."""
LISTING_SECONDS = 5.0
"""How long a `resources/list` waits for those to be listed (an earlier version's history may
be being imported) before it answers with what is listed."""


class ImageCatalog:
    """Lists saved images as resources, each once, and tells listening clients the list changed
    (`subscriptions/listen`; the server declares `listChanged` to clients of that era)."""

    def __init__(self, server: MCPServer[AppState], bus: SubscriptionBus) -> None:
        self._server = server
        self._bus = bus
        self._listed: set[str] = set()
        self.reader: Callable[[SavedFile], Awaitable[bytes]] | None = None
        """How the listed images are read (the server's own workspace's), once it is made."""

    async def add(self, entry: HistoryEntry) -> None:
        if self.reader is None:
            return
        added = False
        for resource in image_resources(entry, self.reader):
            if resource.uri not in self._listed:
                self._listed.add(resource.uri)
                self._server.add_resource(resource)
                added = True
        if added:
            await self._bus.publish(ResourcesListChanged())

    async def list_saved(self, shared: Workspace, listed: anyio.Event) -> None:
        """List the last images saved (once an earlier version's history, if any, is imported),
        then set `listed`."""
        try:
            await shared.history.catch_up()
            entries = await shared.history.recent(limit=LISTED_AT_START)
        except StoreError as exc:
            logger.warning("saved images are not listed as resources: %s", exc)
            entries = []
        try:
            for entry in reversed(entries):
                await self.add(entry.model_copy(update={"files": [f for f in entry.files if shared.contains(f.path)]}))
        finally:
            listed.set()


async def resources_listed_first(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Middleware: `resources/list` answers once the images saved before start-up are listed (or
    after `LISTING_SECONDS`), so a client that lists at once sees them; nothing else waits."""
    state = ctx.lifespan_context
    if ctx.method == "resources/list" and isinstance(state, AppState):
        with anyio.move_on_after(LISTING_SECONDS):
            await state.resources_listed.wait()
    return await call_next(ctx)


def register_templates(server: MCPServer[AppState]) -> None:
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
            return await _read_saved(workspace.read_saved, saved)

        return image

    for media_type, extension in EXTENSIONS.items():
        server.resource(
            f"luma://generations/{{generation_id}}/images/{{index}}.{extension}",
            name=f"generation-image-{extension}",
            title="Saved image",
            description=f"An image this server saved as {extension.upper()}, by generation and output index.",
            mime_type=media_type,
        )(image_of_type(media_type))
