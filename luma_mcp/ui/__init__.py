"""The MCP App: one `ui://` view beside every result of the generating and reading tools, in hosts
that render MCP Apps (extension `io.modelcontextprotocol/ui`).

- `view.html`: the view, one self-contained HTML file built from `view/` (its source and build
  script; `.ci/ui` checks the shipped file is the build of the source), read only when asked for.
- `extension`: the SDK's `Apps` extension with that resource and the app-only tools, and the
  listing rule for clients known to lack the extension.
- `app_tools`: the tools only the view calls (`visibility: ["app"]`): a look at generations for
  polling, with the paid actions it may offer and their prices (`offers`), and renditions.

Hosts without the extension get every tool's content exactly as before: the view adds, never
replaces. This module holds only what the tool registration needs, so that importing it costs nothing.
"""

from __future__ import annotations

from typing import Any

VIEW_URI = "ui://luma-agents/view.html"
"""The one view every generating and reading tool points to."""


def view_meta() -> dict[str, Any]:
    """The `_meta` of a tool shown with the view: to the model, and callable from the view too."""
    return {"ui": {"resourceUri": VIEW_URI, "visibility": ["model", "app"]}}
