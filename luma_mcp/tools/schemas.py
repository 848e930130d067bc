"""The JSON schemas the tools publish (their argument and result models'), made once and kept in
`schemas.json` beside this file: pydantic takes ~15 ms to make them, at every start-up, before a
host sees `tools/list`. `tests/tools/test_tools_list.py` checks what the tools publish against the
models themselves; after changing a model, write the file again:

    uv run python -m tests.support.stored_schemas
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

STORED = Path(__file__).with_name("schemas.json")


def stored_name(model: type[BaseModel]) -> str:
    """The key of `model`'s schema in the stored file."""
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
    return _stored().get(stored_name(model)) or model.model_json_schema()
