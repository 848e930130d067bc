"""The JSON schemas the tools publish (their argument and result models'), made once and kept in
`schemas.json` beside this file: pydantic takes ~15 ms to make them, at every start-up, before a
host sees `tools/list`. `tests/tools/test_tools_list.py` checks what the tools publish against the
models themselves; after changing a model, write the file again:

    uv run python -c "from luma_mcp.tools.schemas import write; write()"
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

STORED = Path(__file__).with_name("schemas.json")


def _name(model: type[BaseModel]) -> str:
    return f"{model.__module__}.{model.__qualname__}"


@functools.cache
def _stored() -> dict[str, dict[str, Any]]:
    try:
        return json.loads(STORED.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # a copy without the file: made at start-up, as before
        return {}


@functools.cache
def schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema: the stored one, else made now."""
    return _stored().get(_name(model)) or model.model_json_schema()


def write() -> None:
    """Make the schemas of every tool's models and store them."""
    from ..config import Settings
    from . import build_tools

    models: dict[str, type[BaseModel]] = {}
    for tool in build_tools(Settings.load({}, environ={})):
        for model in (tool.fn_metadata.arg_model, tool.fn_metadata.output_model):
            if model is not None:
                models[_name(model)] = model
    made = {name: models[name].model_json_schema() for name in sorted(models)}
    STORED.write_text(json.dumps(made, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
