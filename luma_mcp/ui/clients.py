"""What the server knows of a client's support for MCP Apps."""

from __future__ import annotations

from typing import Any

from mcp.server.apps import client_supports_apps
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context


def known_without_apps(ctx: Context[Any] | ServerRequestContext[Any, Any]) -> bool:
    """The client declared its capabilities, and MCP Apps is not among them. Over stateless
    2025-11-25 HTTP a request carries no capabilities (there is no session to remember its
    `initialize`): unknown, so False, and such a client is served as one that may show the view."""
    capabilities = ctx.client_capabilities if isinstance(ctx, Context) else ctx.session.client_capabilities
    return capabilities is not None and not client_supports_apps(ctx)
