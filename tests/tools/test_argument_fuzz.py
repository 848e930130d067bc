"""Hostile arguments, through a real MCP client (JSON-RPC framing included): every call ends in a
result or a clean tool error, nothing invalid reaches the API, and the server keeps answering."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp_types import TextContent
from pydantic import ValidationError

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.tools import build_tools
from luma_mcp.tools.deferred import made
from luma_mcp.tools.flat import ModelTool

from ..support.samples import KEY
from ..support.servers import make_server

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

CASES = 1200
TOOLS = {tool.name: tool for tool in map(made, build_tools(Settings())) if isinstance(tool, ModelTool)}
FIELDS = {name: list(tool.parameters["properties"]) for name, tool in TOOLS.items()}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
unicode_edges = st.sampled_from(
    ["", "\x00", "\u200b", "\ufeff", "\u202e reversed", "a\u0301", "Ω≈ç√∫", "🦊" * 2000, "\n\r\t", "\\u0000", "%s%n"]
)


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for level in range(depth):
        value = [value] if level % 2 else {"x": value}
    return value


field_values = st.one_of(
    json_values,
    unicode_edges,
    st.text(min_size=6001, max_size=9000),  # huge strings
    st.integers(min_value=20, max_value=90).map(_nested),  # deep nesting
    json_values.map(json.dumps),  # JSON inside strings, as some hosts send it
    st.integers() | st.floats(allow_nan=False),  # numbers where strings belong
    st.sampled_from(["d290f1ee-6c54-4b01-90e6-d701748f0851", "4:3", "16:9", "uni-1", "manga", "png", "~/.ssh/id_rsa"]),
)


@st.composite
def tool_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    tool = draw(st.sampled_from(sorted(TOOLS)))
    known = draw(st.dictionaries(st.sampled_from(FIELDS[tool]), field_values, max_size=len(FIELDS[tool])))
    extra = draw(st.dictionaries(st.text(min_size=1, max_size=20), json_values, max_size=2))
    return tool, {**extra, **known}


def is_valid(tool: str, arguments: dict[str, Any]) -> bool:
    try:
        TOOLS[tool].fn_metadata.validate_arguments(arguments)
    except ValidationError:
        return False
    return True


@pytest.fixture
async def legacy_client(settings: Settings, emulator: Emulator) -> AsyncIterator[Client]:
    # The initialize-era transport serializes every message as JSON-RPC, as a real host's would.
    async with Client(make_server(settings, emulator), mode="legacy") as client:
        yield client


def fuzz(check: Callable[[tuple[str, dict[str, Any]]], None]) -> Callable[[], None]:
    """Every generated call given to `check`, once the returned function is called."""

    @settings(
        max_examples=CASES,
        deadline=None,
        derandomize=True,  # the same cases every run: CI failures reproduce
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(call=tool_calls())
    def each(call: tuple[str, dict[str, Any]]) -> None:
        check(call)

    return each


async def test_hostile_arguments_end_cleanly_and_send_nothing_invalid(
    legacy_client: Client, emulator: Emulator
) -> None:
    calls_made: list[str] = []

    async def one(call: tuple[str, dict[str, Any]]) -> None:
        tool, arguments = call
        before = len(emulator.requests)
        result = await legacy_client.call_tool(tool, arguments)  # raises if the server broke the protocol
        calls_made.append(tool)
        texts = " ".join(b.text for b in result.content if isinstance(b, TextContent))
        assert texts.strip() != f"Error executing tool {tool}", f"a crash on {arguments!r}"
        assert KEY not in result.model_dump_json()
        if not is_valid(tool, arguments):
            assert result.is_error
            assert texts.startswith(f"Invalid arguments for {tool}; nothing was sent")
            assert len(emulator.requests) == before
        # The same server, after every hostile call so far, still answers (one server serves them all).
        assert len((await legacy_client.list_tools()).tools) == len(TOOLS)

    # Hypothesis drives the cases from a worker thread; each call runs on this test's event loop,
    # on the one server, so that the count of calls made is checked here, once they are all made.
    await anyio.to_thread.run_sync(fuzz(lambda call: anyio.from_thread.run(one, call)))
    assert len(calls_made) >= 1000


def test_the_fuzz_ran_enough_cases() -> None:
    """The fuzz's settings and strategy make at least 1,000 cases (counted without a server; the
    fuzz test counts the calls it made itself)."""
    cases: list[tuple[str, dict[str, Any]]] = []
    fuzz(cases.append)()
    assert len(cases) >= 1000
