"""`ImageCatalog`: the images this server saves, listed as MCP resources one by one as they are
made, after the last ones saved before start-up. Those are listed on first need (a
`resources/list`, or the first image saved now), never at start-up: a host that spawns the server
to list its tools waits for no history. Made by the first such need too (see `server.py`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskGroup
from mcp.server.mcpserver.resources import Resource
from mcp.server.subscriptions import ResourcesListChanged, SubscriptionBus
from pydantic import Field

from .errors import StoreError
from .media.bucket import name_of
from .media.outputs import SavedFile
from .resources import image_uri, read_saved
from .store.records import HistoryEntry

if TYPE_CHECKING:
    from mcp.server import MCPServer

    from .workspaces import AppState, Workspace

logger = logging.getLogger(__name__)

LISTED_AT_START = 100
"""Saved images from earlier runs listed as resources (all stay readable by URI)."""
LISTING_SECONDS = 5.0
"""How long a `resources/list` (or a save) waits for those to be listed (an earlier version's
history may be being imported) before it goes on with what is listed."""


class SavedImageResource(Resource):
    """A saved image, read from its file (or object, in a bucket) when asked for."""

    saved: SavedFile = Field(exclude=True)
    reader: Callable[[SavedFile], Awaitable[bytes]] = Field(exclude=True)

    async def read(self) -> bytes:
        return await read_saved(self.reader, self.saved)


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


class ImageCatalog:
    """Lists saved images as resources, each once, and tells listening clients the list changed
    (`subscriptions/listen`; the server declares `listChanged` to clients of that era)."""

    def __init__(
        self, server: MCPServer[AppState], bus: SubscriptionBus, earlier: Workspace, background: TaskGroup
    ) -> None:
        """`earlier`: the workspace whose history holds the images saved before start-up; they
        are listed in `background`, once, when first needed."""
        self._server = server
        self._bus = bus
        self._earlier = earlier
        self._background = background
        self._listed: set[str] = set()
        self._started = False
        self._done = anyio.Event()
        self.reader: Callable[[SavedFile], Awaitable[bytes]] = earlier.read_saved
        """How the listed images are read (the server's own workspace's)."""

    async def listed(self) -> None:
        """Return once the images saved before start-up are listed (listing them now if that has
        not begun), or after `LISTING_SECONDS` with what is listed by then."""
        if not self._started:
            self._started = True
            self._background.start_soon(self._list_earlier)
        with anyio.move_on_after(LISTING_SECONDS):
            await self._done.wait()

    async def add(self, entry: HistoryEntry) -> None:
        """List a saved image, after those saved before start-up."""
        await self.listed()
        await self._add(entry)

    async def _add(self, entry: HistoryEntry) -> None:
        added = False
        for resource in image_resources(entry, self.reader):
            if resource.uri not in self._listed:
                self._listed.add(resource.uri)
                self._server.add_resource(resource)
                added = True
        if added:
            await self._bus.publish(ResourcesListChanged())

    async def _list_earlier(self) -> None:
        """List the last images saved (once an earlier version's history, if any, is imported)."""
        shared = self._earlier
        try:
            await shared.history.catch_up()
            entries = await shared.history.recent(limit=LISTED_AT_START)
        except StoreError as exc:
            logger.warning("saved images are not listed as resources: %s", exc)
            entries = []
        try:
            for entry in reversed(entries):
                await self._add(entry.model_copy(update={"files": [f for f in entry.files if shared.contains(f.path)]}))
        finally:
            self._done.set()
