"""The MCP prompts a user picks as slash commands: each listed with its arguments, rendered into a
short text that leads to this server's tools, and a wrong argument named with its fix."""

from __future__ import annotations

import re

import pytest
from mcp import Client, MCPError
from mcp_types import TextContent

from luma_mcp.config import Settings
from luma_mcp.tools import build_tools

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


async def render(client: Client, name: str, arguments: dict[str, str]) -> str:
    result = await client.get_prompt(name, arguments)
    [message] = result.messages
    assert message.role == "user"
    assert isinstance(message.content, TextContent)
    return message.content.text


async def test_the_prompts_are_listed_with_their_arguments(client: Client) -> None:
    listed = {prompt.name: prompt for prompt in (await client.list_prompts()).prompts}
    arguments = {name: [(a.name, a.required) for a in prompt.arguments or []] for name, prompt in listed.items()}
    assert arguments == {
        "product_shot": [("photo", True), ("setting", False)],
        "storyboard": [("story", True), ("frames", False), ("look", False)],
        "iterate_on_last_image": [("change", True)],
    }
    assert all(prompt.title and prompt.description for prompt in listed.values())


async def test_each_prompt_leads_to_tools_this_server_has(client: Client) -> None:
    tools = {tool.name for tool in build_tools(Settings())}
    for name, arguments in (
        ("product_shot", {"photo": "~/Pictures/mug.jpg"}),
        ("storyboard", {"story": "a fox finds a kite"}),
        ("iterate_on_last_image", {"change": "make it night"}),
    ):
        text = await render(client, name, arguments)
        named = set(re.findall(r"\b[a-z]+_[a-z_]+\b", text)) - {"output_format", "aspect_ratio", "image_ref"}
        named -= {"generation_id"}
        assert named, text
        assert named <= tools, named - tools


async def test_a_product_shot_edits_the_photo_keeping_the_product(client: Client) -> None:
    text = await render(client, "product_shot", {"photo": "~/Pictures/mug.jpg", "setting": "on white marble"})
    assert text.startswith("Make a product shot from my photo: ~/Pictures/mug.jpg\n")
    assert 'Call edit_image with source {"path": "~/Pictures/mug.jpg"}' in text
    assert "this exact product, on white marble. Keep the product itself unchanged" in text


async def test_a_storyboard_draws_its_frames_off_the_first_one(client: Client) -> None:
    text = await render(client, "storyboard", {"story": "a fox finds a kite", "frames": "3"})
    assert text.startswith("Make a storyboard of 3 frames for this story: a fox finds a kite\n")
    assert "Frames 2 to 3: call generate_image" in text
    assert 'image_ref [{"generation_id": "<frame 1\'s generation_id>"}]' in text
    assert "4 frames" in await render(client, "storyboard", {"story": "a fox finds a kite"})  # the default


async def test_another_round_edits_the_latest_image(client: Client) -> None:
    text = await render(client, "iterate_on_last_image", {"change": "make it night"})
    assert "Call list_generations with limit 1" in text
    assert 'edit_image with source {"generation_id": "<its generation_id>"} and the prompt "make it night"' in text


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("storyboard", {"story": "x", "frames": "twelve"}, "storyboard: frames must be a whole number from 2 to 8"),
        ("storyboard", {"story": "x", "frames": "9"}, "storyboard: frames must be a whole number from 2 to 8"),
        ("product_shot", {}, "product_shot: photo is required (The product photo"),
        ("product_shot", {"photo": "  "}, "product_shot: photo is required"),
        ("iterate_on_last_image", {"change": "x", "count": "2"}, "iterate_on_last_image takes change; not count"),
    ],
)
async def test_a_wrong_argument_is_named_with_its_fix(
    client: Client, name: str, arguments: dict[str, str], message: str
) -> None:
    with pytest.raises(MCPError, match=re.escape(message)):
        await client.get_prompt(name, arguments)
