"""Saved files' names: whatever the prompt, inside the folder, and never over an earlier image."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mcp import Client

from ..support.servers import structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

NAME = re.compile(r"^\d{4}-\d{2}-\d{2}_[a-z0-9-]{1,48}_[0-9a-f]{8}_\d+(-\d+)?\.(png|jpg)$")


HOSTILE_PROMPTS = [
    "../../../../etc/passwd",
    "..\\..\\Windows\\System32\\config",
    "a\x00b/c",
    "x" * 5000,
    "🦊🔥🌨️ фото лисы 狐狸",
    "CON",
    "NUL.txt",
    "   ",
    "/absolute/path.png",
]


@pytest.mark.parametrize(
    "prompt",
    HOSTILE_PROMPTS,
    ids=["dotdot", "backslash", "nul", "5000", "emoji", "con", "nul-txt", "blank", "absolute"],
)
async def test_a_hostile_prompt_never_names_a_file_outside_the_folder(
    client: Client, output_dir: Path, prompt: str
) -> None:
    data = structured(await client.call_tool("generate_image", {"prompt": prompt}))
    path = Path(data["outputs"][0]["path"])
    assert path.parent == output_dir
    assert NAME.match(path.name), path.name
    assert path.resolve().is_relative_to(output_dir.resolve())


async def test_the_same_prompt_never_overwrites_an_earlier_image(client: Client, output_dir: Path) -> None:
    paths = set()
    for _ in range(3):
        data = structured(await client.call_tool("generate_image", {"prompt": "same prompt", "new_variation": True}))
        paths.add(data["outputs"][0]["path"])
    assert len(paths) == 3
    assert len(list(output_dir.glob("*.png"))) == 3
