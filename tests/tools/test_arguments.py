"""The argument models: invalid arguments are refused before any request, with a message naming
the field and the fix; valid ones become exactly the request sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_types import TextContent

from luma_mcp.emulator import Emulator

from ..support.samples import b64, png_bytes
from ..support.servers import structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

PNG = b64(png_bytes())
REF = {"data": PNG, "media_type": "image/png"}
GID = "d290f1ee-6c54-4b01-90e6-d701748f0851"

# (tool, arguments, the field named, words of the fix)
INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    ("generate_image", {}, "prompt", "is required"),
    ("generate_image", {"prompt": ""}, "prompt", "at least 1 character(s) long (got 0)"),
    ("generate_image", {"prompt": "   "}, "prompt", "is only spaces: say in words what to draw"),
    ("generate_image", {"prompt": " \n\t "}, "prompt", "is only spaces"),
    ("generate_image", {"prompt": "x" * 6001}, "prompt", "at most 6000 characters long (got 6001)"),
    ("generate_image", {"prompt": "x", "aspect_ratio": "4:3"}, "aspect_ratio", "must be one of '3:1'"),
    ("generate_image", {"prompt": "x", "model": "uni-2"}, "model", "'uni-1' or 'uni-1-max'"),
    ("generate_image", {"prompt": "x", "style": "anime"}, "style", "'auto' or 'manga'"),
    ("generate_image", {"prompt": "x", "output_format": "webp"}, "output_format", "'png' or 'jpeg'"),
    ("generate_image", {"prompt": "x", "style": "manga", "aspect_ratio": "16:9"}, "manga", "portrait aspect_ratio"),
    ("generate_image", {"prompt": "x", "image_ref": [REF] * 10}, "image_ref", "at most 9"),
    ("generate_image", {"prompt": "x", "image_ref": [{}]}, "image_ref[0]", "exactly one of url, path, data"),
    (
        "generate_image",
        {"prompt": "x", "image_ref": [REF, {"url": "https://a.example/x.png", "generation_id": GID}]},
        "image_ref[1]",
        "got url and generation_id",
    ),
    ("generate_image", {"prompt": "x", "image_ref": [{"data": PNG}]}, "image_ref[0]", "media_type is required"),
    (
        "generate_image",
        {"prompt": "x", "image_ref": [{"data": PNG, "media_type": "image/jpeg"}]},
        "image_ref[0]",
        "set media_type to image/png",
    ),
    (
        "generate_image",
        {"prompt": "x", "image_ref": [{"data": "not base64!", "media_type": "image/png"}]},
        "image_ref[0]",
        "not valid base64",
    ),
    (
        "generate_image",
        {"prompt": "x", "image_ref": [{"data": b64(b"plain text"), "media_type": "image/png"}]},
        "image_ref[0]",
        "not a PNG, JPEG, WebP or GIF",
    ),
    ("generate_image", {"prompt": "x", "image_ref": [{"url": "ftp://a/b.png"}]}, "image_ref[0]", "https://"),
    ("generate_image", {"prompt": "x", "image_ref": [{"generation_id": "abc"}]}, "image_ref[0]", "must be a UUID"),
    ("generate_image", {"prompt": "x", "image_ref": ["https://a/b.png"]}, "image_ref[0]", "must be an object"),
    ("generate_image", {"prompt": "x", "negative_prompt": "dogs"}, "negative_prompt", "use only: "),
    ("edit_image", {"prompt": "x"}, "source", "is required"),
    ("edit_image", {"prompt": "  ", "source": REF}, "prompt", "is only spaces"),
    ("split_into_layers", {"prompt": " ", "source": REF}, "prompt", "is only spaces"),
    ("edit_image", {"prompt": "x", "source": REF, "image_ref": [REF] * 9}, "image_ref", "at most 8"),
    ("edit_image", {"prompt": "x", "source": {"media_type": "image/png"}}, "source", "exactly one of"),
    ("get_generation", {"generation_id": "latest"}, "generation_id", "must be a UUID"),
    (
        "wait_for_generation",
        {"generation_id": GID, "timeout_seconds": 0},
        "timeout_seconds",
        "greater than or equal to 1",
    ),
    ("wait_for_generation", {"generation_id": GID, "timeout_seconds": 9999}, "timeout_seconds", "600"),
    ("wait_for_generation", {}, "generation_id", "give generation_id (or generation_ids"),
    ("wait_for_generation", {"generation_id": GID, "generation_ids": [GID]}, "generation_ids", "not both"),
    ("generate_image", {"prompt": "x", "count": 5}, "count", "less than or equal to 4"),
    ("split_into_layers", {"source": REF, "resolution": "4k"}, "resolution", "'1k' or '2k'"),
    ("split_into_layers", {"source": REF, "prompt": "x" * 501}, "prompt", "at most 500"),
    (
        "edit_image",
        {"prompt": "x", "source": {"url": "https://a.test/b.png", "output_index": 1}},
        "source",
        "output_index",
    ),
]


@pytest.mark.parametrize(
    ("tool", "arguments", "field", "fix"), INVALID, ids=[f"{t}-{f}-{x[:20]}" for t, _, f, x in INVALID]
)
async def test_invalid_arguments_are_refused_naming_the_field_and_the_fix_and_nothing_is_sent(
    client: Client, emulator: Emulator, tool: str, arguments: dict[str, Any], field: str, fix: str
) -> None:
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    text = "\n".join(b.text for b in result.content if isinstance(b, TextContent))
    assert f"Invalid arguments for {tool}; nothing was sent" in text
    assert field in text
    assert fix in text, text
    assert emulator.requests == []


async def test_json_in_a_string_is_accepted_as_claude_desktop_sends_it(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool(
        "generate_image", {"prompt": "x", "image_ref": f'[{{"data": "{PNG}", "media_type": "image/png"}}]'}
    )
    assert not result.is_error, result.content
    assert emulator.requests_to("create")[0].body["image_ref"] == [REF]


async def test_the_request_sent_is_the_arguments_given(client: Client, emulator: Emulator) -> None:
    await client.call_tool(
        "generate_image",
        {"prompt": "a cat", "model": "uni-1-max", "aspect_ratio": "2:3", "style": "manga", "web_search": True},
    )
    [create] = emulator.requests_to("create")
    assert create.body == {
        "prompt": "a cat",
        "model": "uni-1-max",
        "type": "image",
        "aspect_ratio": "2:3",
        "style": "manga",
        "web_search": True,
    }


async def test_edit_chains_off_a_generation_by_id(client: Client, emulator: Emulator) -> None:
    first = structured(await client.call_tool("generate_image", {"prompt": "a fox", "aspect_ratio": "16:9"}))
    edited = await client.call_tool(
        "edit_image", {"prompt": "make it night", "source": {"generation_id": first["generation_id"]}}
    )
    assert not edited.is_error, edited.content
    data = structured(edited)
    assert (data["state"], data["type"]) == ("completed", "image_edit")
    assert (data["outputs"][0]["width"], data["outputs"][0]["height"]) == (128, 80)  # the source's size
    create = emulator.requests_to("create")[-1]
    assert create.body["source"] == {"generation_id": first["generation_id"]}
    assert create.body["type"] == "image_edit"
    assert Path(data["outputs"][0]["path"]).read_bytes() == await emulator.output_bytes(data["generation_id"])


async def test_edit_takes_base64_and_data_uris(client: Client, emulator: Emulator) -> None:
    png = png_bytes((60, 40))
    for source in ({"data": b64(png), "media_type": "image/png"}, {"data": "data:image/png;base64," + b64(png)}):
        result = await client.call_tool("edit_image", {"prompt": "sepia", "source": source})
        assert not result.is_error, result.content
        assert structured(result)["outputs"][0]["width"] == 60
        assert emulator.requests_to("create")[-1].body["source"] == {"data": b64(png), "media_type": "image/png"}
