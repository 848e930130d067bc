"""Saved files' names: whatever the prompt, inside the folder, and never over an earlier image."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mcp import Client

from luma_mcp.media.names import slug

from ..support.servers import structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

NAME = re.compile(r"^\d{4}-\d{2}-\d{2}_(?P<words>[^_\s/\\:*?\"<>|.]+)_[0-9a-f]{8}_\d+(-\d+)?\.(png|jpg)$")
"""Date, words of the prompt (any script; nothing a file system reserves), short id, number."""


HOSTILE_PROMPTS = [
    "../../../../etc/passwd",
    "..\\..\\Windows\\System32\\config",
    "a\x00b/c",
    "x" * 5000,
    "🦊🔥🌨️ фото лисы 狐狸",
    "CON",
    "NUL.txt",
    "...",
    "/absolute/path.png",
    "\u202egpj.exe",
]


@pytest.mark.parametrize(
    "prompt",
    HOSTILE_PROMPTS,
    ids=["dotdot", "backslash", "nul", "5000", "emoji", "con", "nul-txt", "dots", "absolute", "rtl-override"],
)
async def test_a_hostile_prompt_never_names_a_file_outside_the_folder(
    client: Client, output_dir: Path, prompt: str
) -> None:
    data = structured(await client.call_tool("generate_image", {"prompt": prompt}))
    path = Path(data["outputs"][0]["path"])
    assert path.parent == output_dir
    name = NAME.match(path.name)
    assert name, path.name
    assert len(name["words"].encode()) <= 48
    assert "\u202e" not in path.name
    assert path.resolve().is_relative_to(output_dir.resolve())


async def test_the_same_prompt_never_overwrites_an_earlier_image(client: Client, output_dir: Path) -> None:
    paths = set()
    for _ in range(3):
        data = structured(await client.call_tool("generate_image", {"prompt": "same prompt", "new_variation": True}))
        paths.add(data["outputs"][0]["path"])
    assert len(paths) == 3
    assert len(list(output_dir.glob("*.png"))) == 3


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        ("雪の中で丸くなる赤い狐", "雪の中で丸くなる赤い狐"),
        ("Рыжая лиса в снегу", "рыжая-лиса-в-снегу"),
        ("🦊 in the snow ❄️", "🦊-in-the-snow-❄️"),
        ("ثعلب أحمر في الثلج", "ثعلب-أحمر-في-الثلج"),
    ],
    ids=["japanese", "russian", "emoji", "arabic"],
)
async def test_words_of_any_script_name_the_saved_file(
    client: Client, output_dir: Path, prompt: str, words: str
) -> None:
    data = structured(await client.call_tool("generate_image", {"prompt": prompt}))
    path = Path(data["outputs"][0]["path"])  # the emulator drew it, whatever its font lacks
    name = NAME.match(path.name)
    assert name, path.name
    assert name["words"] == words
    assert path.is_file()
    assert path.parent == output_dir


def test_names_are_nfc_stripped_of_reserved_characters_and_capped_in_bytes() -> None:
    assert slug("e\u0301cole") == "\u00e9cole"  # a decomposed é, composed
    assert slug('a <red> "fox": in/the\\snow? | *now*') == "a-red-fox-in-the-snow-now"
    assert slug("狐" * 40) == "狐" * 16  # 3 bytes each: 48 bytes, cut between characters
    assert len(slug("лиса " * 20).encode()) <= 48
    assert slug("👩\u200d🎨 painter") == "👩\u200d🎨-painter"  # an emoji sequence kept whole
    assert slug("!!! ...") == "image"
