"""The SDK's `Apps` extension, filled: the view as a `ui://` resource (read from the package when a
host asks for it, never at start-up); the app-only tools (given to `MCPServer(tools=...)` with the
`_meta` `Apps.tool` would stamp, so that they too are listed from stored schemas and made on their
first call: see `tools/deferred.py`); and the listing rule for clients known to lack the extension.
Built before `MCPServer(...)`: the SDK ignores later additions."""

from __future__ import annotations

from importlib.resources import files
from typing import Any, cast

import anyio.to_thread
from mcp.server.apps import APP_MIME_TYPE, Apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.mcpserver.resources import Resource
from mcp.server.mcpserver.tools import Tool as ServerTool
from mcp_types import ListToolsResult, Tool, ToolAnnotations
from pydantic import ConfigDict

from ..tools.deferred import Listing, deferred
from . import VIEW_URI
from .clients import known_without_apps

VIEW_FILE = "view.html"
"""The built view, package data beside this module."""
FREE_LOOK = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
APP_ONLY = {"ui": {"resourceUri": VIEW_URI, "visibility": ["app"]}}
"""The `_meta` of a tool only the view calls."""
APP_TOOLS = tuple(
    Listing(
        name=name,
        title=title,
        description=f"For the Luma image view only (models: use get_generation). {what}",
        annotations=FREE_LOOK,
        meta=APP_ONLY,
    )
    for name, title, what in (
        ("view_generations", "View: look at generations", "One look at generations, without previews, with the "
         "priced actions the view offers."),
        ("view_image", "View: image rendition", "A rendition of one output (display ≤ 1568 px or thumbnail ≤ 384 px)."),
    )
)  # fmt: skip


class ViewResource(Resource):
    """The view's HTML, read from the package each time a host asks (hosts cache it). Made with
    `model_construct` from checked values, so pydantic builds no validator for it at start-up."""

    model_config = ConfigDict(defer_build=True)

    async def read(self) -> str:
        view = files(__package__ or "luma_mcp.ui").joinpath(VIEW_FILE)
        try:
            return await anyio.to_thread.run_sync(view.read_text, "utf-8")
        except OSError as exc:
            raise ResourceError(f"The view is missing from this installation ({exc}); reinstall the package") from exc


def build_apps() -> Apps:
    """The extension: the view (the tools only it calls are `build_app_tools()`)."""
    apps = Apps()
    apps.add_resource(
        ViewResource.model_construct(
            uri=VIEW_URI,
            name="luma-view",
            title="Luma image view",
            description="Images, pending jobs, layers and history of this server's results, with edit, more like "
            "this, split, download and use-as-reference.",
            mime_type=APP_MIME_TYPE,
            # Images arrive as data: URIs read through this server: no domain to allow, the hosts' default CSP holds.
            meta={"ui": {"prefersBorder": True}},
        )
    )
    return apps


def _app_tool(listing: Listing) -> ServerTool:
    """The tool, made with its function in `app_tools` (of the tool's name), as `Apps.tool` makes it."""
    from . import app_tools

    return ServerTool.from_function(
        getattr(app_tools, listing.name),
        name=listing.name,
        title=listing.title,
        description=listing.description,
        annotations=listing.annotations,
        meta=listing.meta,
    )


def build_app_tools() -> list[ServerTool]:
    """The tools only the view calls, each made on its first call."""
    return [deferred(listing, _app_tool) for listing in APP_TOOLS]


def _app_only(tool: Tool) -> bool:
    ui: object = (tool.meta or {}).get("ui")
    return isinstance(ui, dict) and cast("dict[str, object]", ui).get("visibility") == ["app"]


async def hide_app_only_tools(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Middleware: `tools/list` leaves out the app-only tools for a client known to lack MCP Apps.
    Such a client cannot show the view, and its model would only see two tools it has no use for.
    Where the capabilities are unknown (stateless 2025-11-25 HTTP) they are listed: a host that
    shows the view checks a tool's visibility in the list before it lets the view call it."""
    result = await call_next(ctx)
    if ctx.method != "tools/list" or not known_without_apps(ctx):
        return result
    listed = ListToolsResult.model_validate(result) if isinstance(result, dict) else result
    if not isinstance(listed, ListToolsResult):
        return result
    return listed.model_copy(update={"tools": [tool for tool in listed.tools if not _app_only(tool)]})
