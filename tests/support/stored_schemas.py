"""Writes `luma_mcp/tools/schemas.json`, the JSON schemas the tools publish, from the models
themselves (see `luma_mcp/tools/schemas.py`). After changing an argument or result model:

    uv run python -m tests.support.stored_schemas
"""

from __future__ import annotations

import json

from pydantic import BaseModel

from luma_mcp.config import Settings
from luma_mcp.tools import build_tools
from luma_mcp.tools.schemas import STORED, stored_name


def write() -> None:
    models: dict[str, type[BaseModel]] = {}
    for tool in build_tools(Settings.load({}, environ={})):
        for model in (tool.fn_metadata.arg_model, tool.fn_metadata.output_model):
            if model is not None:
                models[stored_name(model)] = model
    made = {name: models[name].model_json_schema() for name in sorted(models)}
    STORED.write_text(json.dumps(made, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write()
