"""The MCP App as a client meets it: which tools point to the view, the view as a resource, the
app-only tools marked and left out for clients known to lack the extension, and results unchanged
for them."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client
from mcp.server import MCPServer
from mcp.server.apps import APP_MIME_TYPE
from mcp.server.mcpserver.tools import Tool
from mcp_types import ImageContent, ResourceLink, TextContent, TextResourceContents

from luma_mcp.media.previews import make_preview
from luma_mcp.ui import VIEW_URI, app_tools
from luma_mcp.ui import extension as ui_extension
from luma_mcp.workspaces import AppState

from ..support.servers import shows_apps, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

SHOWN_WITH_THE_VIEW = {
    "generate_image",
    "edit_image",
    "split_into_layers",
    "get_generation",
    "wait_for_generation",
    "list_generations",
}
APP_ONLY = {"view_generations", "view_image"}


def apps_client(server: MCPServer[AppState], mode: str) -> Client:
    """A client that declares MCP Apps, as hosts that render views do."""
    return Client(
        server,  # pyright: ignore[reportArgumentType]
        mode=mode,
        raise_exceptions=True,
        extensions=[shows_apps()],
    )


@pytest.fixture
async def host(server: MCPServer[AppState], mode: str) -> AsyncIterator[Client]:
    async with apps_client(server, mode) as connected:
        yield connected


async def test_the_generating_and_reading_tools_point_to_the_view_and_the_app_only_ones_are_marked(
    host: Client,
) -> None:
    tools = {tool.name: tool for tool in (await host.list_tools()).tools}
    assert set(tools) == SHOWN_WITH_THE_VIEW | APP_ONLY | {"upload_image", "get_spending"}
    for name in SHOWN_WITH_THE_VIEW:
        assert tools[name].meta == {"ui": {"resourceUri": VIEW_URI, "visibility": ["model", "app"]}}, name
    for name in APP_ONLY:
        assert tools[name].meta == {"ui": {"resourceUri": VIEW_URI, "visibility": ["app"]}}, name
        hints = tools[name].annotations
        assert hints is not None
        assert hints.read_only_hint, name
    assert tools["upload_image"].meta is None  # nothing to show
    assert tools["get_spending"].meta is None


async def test_the_view_reads_as_one_mcp_app_html_document(host: Client) -> None:
    listed = {str(resource.uri): resource for resource in (await host.list_resources()).resources}
    assert listed[VIEW_URI].mime_type == APP_MIME_TYPE
    [content] = (await host.read_resource(VIEW_URI)).contents
    assert isinstance(content, TextResourceContents)
    assert content.mime_type == APP_MIME_TYPE
    assert content.text.lstrip().lower().startswith("<!doctype html>")
    assert len(content.text.encode()) <= 300_000
    # Self-contained: nothing fetched at run time, from a CDN or anywhere else.
    assert "<script src" not in content.text
    assert "<link" not in content.text
    assert "https://" not in content.text.split("</head>", 1)[0]


async def test_a_client_without_the_extension_lists_eight_tools_and_gets_unchanged_results(
    client: Client, host: Client
) -> None:
    listed = {tool.name for tool in (await client.list_tools()).tools}
    assert listed == SHOWN_WITH_THE_VIEW | {"upload_image", "get_spending"}
    plain = await client.call_tool("generate_image", {"prompt": "a fox in the snow"})
    shown = await host.call_tool("generate_image", {"prompt": "a fox in the snow", "new_variation": True})
    # The same blocks for both (text, the structured result as text, a preview, links), and the
    # same structured fields: the view adds to a result, it changes nothing in it.
    assert [type(block) for block in plain.content] == [type(block) for block in shown.content]
    assert [type(block) for block in plain.content][:3] == [TextContent, TextContent, ImageContent]
    assert any(isinstance(block, ResourceLink) for block in plain.content)
    assert set(structured(plain)) == set(structured(shown))
    assert (plain.meta or {}).keys() == (shown.meta or {}).keys()


async def test_a_model_calling_an_app_only_tool_without_the_extension_gets_a_short_harmless_answer(
    client: Client,
) -> None:
    made = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    for name, arguments in (
        ("view_image", {"generation_id": made["generation_id"]}),
        ("view_generations", {"generation_ids": [made["generation_id"]]}),
    ):
        answer = await client.call_tool(name, arguments)
        assert not answer.is_error
        [block] = answer.content
        assert isinstance(block, TextContent)
        assert "nothing was done" in block.text
        assert "get_generation" in block.text
        assert len(block.text) < 200


async def test_the_view_polls_a_look_without_previews_with_each_paid_action_priced(host: Client) -> None:
    made = structured(await host.call_tool("generate_image", {"prompt": "a lighthouse", "model": "uni-1-max"}))
    looked = await host.call_tool("view_generations", {"generation_ids": [made["generation_id"]]})
    assert not [block for block in looked.content if isinstance(block, ImageContent)]
    state = structured(looked)
    assert state["state"] == "completed"
    [image] = state["offers"]
    offers = {offer["action"]: offer for offer in image["offers"]}
    assert {action: offer["usd"] for action, offer in offers.items()} == {
        "edit": 0.103,
        "more": 0.206,  # two candidates with the image as a reference
        "split": 0.434,  # at most 10 layers at 1k
        "reference": 0.103,
    }
    assert offers["split"]["estimate"]
    assert not offers["edit"]["estimate"]
    source = {"generation_id": made["generation_id"]}
    assert offers["edit"]["arguments"] == {"source": source, "model": "uni-1-max", "preview": "none"}
    assert offers["edit"]["needs_prompt"]
    assert not offers["more"]["needs_prompt"]
    assert offers["more"]["arguments"]["prompt"] == "a lighthouse"


async def test_a_rendition_is_the_saved_image_made_small_and_never_in_structured_content(host: Client) -> None:
    made = structured(await host.call_tool("generate_image", {"prompt": "a red fox"}))
    path = Path(made["outputs"][0]["path"])
    for size, edge in (("display", 1568), ("thumbnail", 384)):
        answer = await host.call_tool("view_image", {"generation_id": made["generation_id"], "size": size})
        [image] = [block for block in answer.content if isinstance(block, ImageContent)]
        described = structured(answer)
        expected = make_preview(path, max_edge=edge, budget=300_000 if size == "display" else 40_000)
        assert hashlib.sha256(expected.data).hexdigest() == described["sha256"]
        assert (described["width"], described["height"]) == (expected.width, expected.height)
        assert image.mime_type == expected.media_type
        assert "data" not in described


async def test_the_view_is_read_only_when_a_host_asks_for_it(
    server: MCPServer[AppState], monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setattr(ui_extension, "VIEW_FILE", "missing.html")  # nothing is read at start-up...
    async with apps_client(server, mode) as host:
        assert len((await host.list_tools()).tools) == 10
        with pytest.raises(Exception, match="missing from this installation"):  # ...only here
            await host.read_resource(VIEW_URI)


async def test_the_app_only_tools_are_listed_as_their_functions_would_publish_them(host: Client) -> None:
    # Listed from the stored schemas (made on their first call): the same as made from the functions now.
    tools = {tool.name: tool for tool in (await host.list_tools()).tools}
    for name in APP_ONLY:
        function = getattr(app_tools, name)
        made = Tool.from_function(function, name=name)
        assert (tools[name].input_schema, tools[name].output_schema) == (made.parameters, made.output_schema), (
            f"{name}: the stored schemas are stale: uv run python -m tests.support.stored_schemas"
        )
