"""The JSON schemas the tools publish (input and output, by tool name), made once and kept in
`schemas.json` beside this file: pydantic takes ~15 ms to make them, and importing the models and
functions behind them more, at every start-up, before a host sees `tools/list` (see `deferred`).
`tests/tools/test_tools_list.py` and `tests/ui/test_extension.py` check what the tools publish
against the models and functions themselves; after changing one, write the file again:

    uv run python -m tests.support.stored_schemas
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, TypedDict, cast

STORED = Path(__file__).with_name("schemas.json")


class Published(TypedDict):
    """What one tool publishes: its input schema and its output schema (None without one)."""

    input: dict[str, Any]
    output: dict[str, Any] | None


class Stored(TypedDict):
    """The file: each tool's input schema and the title of its output schema, and the output
    schemas by title (several tools return the same result)."""

    tools: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]]


@functools.cache
def _stored() -> Stored:
    try:
        content = json.loads(STORED.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        content = None
    if not isinstance(content, dict) or set(content) != {"tools", "outputs"}:  # pyright: ignore[reportUnknownArgumentType]
        return {"tools": {}, "outputs": {}}  # a copy without the file: each tool made at start-up, as before
    return cast(Stored, content)


def stored(tool: str) -> Published | None:
    """What `tool` publishes, as stored; None if the file has no entry for it."""
    entry = _stored()["tools"].get(tool)
    if entry is None:
        return None
    output = entry.get("output")
    return {"input": entry["input"], "output": None if output is None else _stored()["outputs"][output]}


def storable(published: dict[str, Published]) -> Stored:
    """The file's content for these tools' schemas."""
    tools: dict[str, dict[str, Any]] = {}
    outputs: dict[str, dict[str, Any]] = {}
    for name, schemas in sorted(published.items()):
        output = schemas["output"]
        if output is not None:
            outputs[output["title"]] = output
        tools[name] = {"input": schemas["input"], "output": None if output is None else output["title"]}
    return {"tools": tools, "outputs": outputs}
