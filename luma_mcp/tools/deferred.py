"""Tools listed from their stored schemas (`schemas.json`) and made on their first call: the
functions behind them import the argument and result models, the workspaces and everything those
use, which `initialize` and `tools/list` never need. A host spawns a server per session, often just
to list its tools: that start-up is spent on the SDK alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp_types import ToolAnnotations
from pydantic import ConfigDict, Field, PrivateAttr

from .schemas import stored


class Listing(NamedTuple):  # not a dataclass: making one costs ~0.8 ms at every start-up
    """What `tools/list` shows of a tool besides its schemas."""

    name: str
    title: str
    description: str
    annotations: ToolAnnotations
    meta: dict[str, Any] | None = None
    """Its `_meta` (the MCP App view it is shown with, or that only the view calls it)."""


def _made_on_first_call(**_: Any) -> None:
    """The function of a `DeferredTool`, never called: its calls run the tool it makes."""
    raise RuntimeError("a deferred tool runs the tool it makes")


class DeferredTool(Tool):
    """A tool as listed (name, schemas, annotations, `_meta`) before its function is imported:
    `make` makes the real one, the first time the tool is called, and every call runs that.
    Made with `model_construct` from values already checked (the stored file, the listing), so
    that pydantic never builds a validator for this class: that would cost what deferring saves."""

    model_config = ConfigDict(defer_build=True)

    make: Callable[[], Tool] = Field(exclude=True)
    _made: Tool | None = PrivateAttr(default=None)

    def made(self) -> Tool:
        """The real tool, made now if it was not yet."""
        if self._made is None:
            self._made = self.make()
        return self._made

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        return await self.made().run(arguments, context, convert_result)


def deferred(listing: Listing, make: Callable[[Listing], Tool]) -> Tool:
    """The tool `make(listing)` makes, listed from its stored schemas until its first call; made
    now where nothing is stored for it (a copy without `schemas.json`)."""
    published = stored(listing.name)
    if published is None:
        return make(listing)
    return DeferredTool.model_construct(
        fn=_made_on_first_call,
        name=listing.name,
        title=listing.title,
        description=listing.description,
        parameters=published["input"],
        fn_metadata=FuncMetadata(arg_model=ArgModelBase, output_schema=published["output"]),
        is_async=True,
        context_kwarg=None,
        annotations=listing.annotations,
        meta=listing.meta,
        make=lambda: make(listing),
    )


def made(tool: Tool) -> Tool:
    """`tool` as it runs: a deferred tool's real one."""
    return tool.made() if isinstance(tool, DeferredTool) else tool
