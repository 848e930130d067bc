"""Several images in one result's previews: separate where each fits, a sheet where not, and a
split's layers on a checkerboard beside their composite."""

from __future__ import annotations

import io
from pathlib import Path
from typing import cast

import pytest
from PIL import Image

from luma_mcp.media.previews import INLINE_BUDGET
from luma_mcp.media.sheets import MIN_EACH_EDGE, preview_set


def noisy_png(path: Path, size: tuple[int, int], seed: int) -> Path:
    """Noise compresses badly, so previews of it are large: the budget has to bite."""
    import random

    rng = random.Random(seed)
    Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3)).save(path)
    return path


def transparent_left_half(path: Path, size: tuple[int, int], color: tuple[int, int, int]) -> Path:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    image.paste(Image.new("RGBA", (size[0] // 2, size[1]), (*color, 255)), (size[0] // 2, 0))
    image.save(path)
    return path


def test_images_that_fit_each_get_their_own_preview(tmp_path: Path) -> None:
    paths = [noisy_png(tmp_path / f"{i}.png", (300, 200), i) for i in range(2)]
    previews = preview_set([*paths], ["1", "2"], "auto", False, INLINE_BUDGET)
    assert previews.sheet is None
    assert [p.width for p in previews.each if p] == [300, 300]


def test_images_that_would_each_be_too_small_share_one_sheet_within_the_budget(tmp_path: Path) -> None:
    paths = [noisy_png(tmp_path / f"{i}.png", (800, 800), i) for i in range(10)]
    alone = preview_set([paths[0]], ["1"], "full", False, INLINE_BUDGET).each[0]
    assert alone is not None
    assert max(alone.width, alone.height) >= MIN_EACH_EDGE  # one alone keeps a useful size
    previews = preview_set([*paths], [str(i) for i in range(10)], "full", False, INLINE_BUDGET)
    assert previews.each == [None] * 10  # a tenth of the budget each would be too small
    assert previews.sheet is not None
    assert len(previews.sheet.data) <= INLINE_BUDGET
    assert max(previews.sheet.width, previews.sheet.height) <= 1568


@pytest.mark.parametrize("count", [2, 10])
def test_a_split_shows_its_layers_on_a_checkerboard_beside_the_composite(tmp_path: Path, count: int) -> None:
    layers = [transparent_left_half(tmp_path / f"front{i}.png", (256, 128), (200, 0, 0)) for i in range(count - 1)]
    background = tmp_path / "background.png"
    Image.new("RGBA", (256, 128), (0, 0, 200, 255)).save(background)
    paths: list[Path | None] = [*layers, background]
    previews = preview_set(paths, [f"{i}" for i in range(count)], "full", True, INLINE_BUDGET)
    assert previews.each == [None] * count
    assert previews.sheet is not None
    assert max(previews.sheet.width, previews.sheet.height) <= 1568
    sheet = Image.open(io.BytesIO(previews.sheet.data)).convert("RGB")
    pixels = cast("list[tuple[int, int, int]]", list(sheet.get_flattened_data()))
    grey = sum(1 for pixel in pixels if all(abs(c - 204) <= 10 for c in pixel))
    red = sum(1 for r, g, b in pixels if r > 150 and g < 80 and b < 80)
    blue = sum(1 for r, g, b in pixels if b > 150 and r < 80 and g < 80)
    assert grey > len(pixels) // 40  # the transparent halves show the checkerboard
    assert red > 0  # the front layers
    assert blue > 0  # the background, alone and under the composite's transparent half
