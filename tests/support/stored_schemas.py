"""Writes `luma_mcp/tools/schemas.json`, the JSON schemas the tools publish, from the models and
functions themselves (see `luma_mcp/tools/schemas.py`). After changing an argument or result model,
or an app-only tool's signature:

    uv run python -m tests.support.stored_schemas
"""

from __future__ import annotations

import json

from mcp.server.mcpserver.tools import Tool
from pydantic import BaseModel

from luma_mcp.config import Settings
from luma_mcp.tools import build_tools
from luma_mcp.tools.deferred import made
from luma_mcp.tools.flat import ModelTool
from luma_mcp.tools.schemas import STORED, Published, storable
from luma_mcp.ui.extension import build_app_tools


def published(tool: Tool) -> Published:
    """What `tool` publishes, made from its models or function (a model tool reads the stored
    file when it is made: its models make them again here)."""
    if isinstance(tool, ModelTool):
        output = tool.fn_metadata.output_model
        assert isinstance(output, type)
        assert issubclass(output, BaseModel)
        return {"input": tool.fn_metadata.arg_model.model_json_schema(), "output": output.model_json_schema()}
    return {"input": tool.parameters, "output": tool.output_schema}


def write() -> None:
    tools = [made(tool) for tool in [*build_tools(Settings.load({}, environ={})), *build_app_tools()]]
    made_now = storable({tool.name: published(tool) for tool in tools})
    STORED.write_text(json.dumps(made_now, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write()
