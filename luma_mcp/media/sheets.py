"""Several images in one result's previews: each on its own where they fit, else one sheet. A
contact sheet tiles a set's images, labelled; a layer sheet shows a split's composite beside each
layer on a checkerboard, so transparency shows. Blocking: run in a worker thread."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .previews import INLINE_BUDGET, MAX_EDGE, Preview, PreviewMode, encode_within, make_previews

if TYPE_CHECKING:
    from PIL import Image as PILImage

GAP = 8
"""Pixels between tiles (and around them)."""
CHECKER = 16
"""Side of a checkerboard square, in pixels."""
MIN_EACH_EDGE = 512
"""Below this long edge, separate previews say too little: several images share one sheet instead."""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreviewSet:
    """The previews of one result: one per image where each fits the budget at a useful size, or
    else one sheet of them all (always one sheet for a split into layers)."""

    each: list[Preview | None]
    sheet: Preview | None = None


def preview_set(paths: list[Path | None], labels: list[str], mode: PreviewMode, layers: bool) -> PreviewSet:
    """Previews of a result's images (`labels` name them on a sheet). `layers`: the images are one
    split, front to back: shown side by side on a checkerboard beside their composite."""
    present = [(path, label) for path, label in zip(paths, labels, strict=True) if path is not None]
    if mode == "none" or not present:
        return PreviewSet([None] * len(paths))
    try:
        if layers and len(present) > 1:
            return PreviewSet([None] * len(paths), layer_sheet(present, max_edge=MAX_EDGE[mode], budget=INLINE_BUDGET))
        each = make_previews(paths, mode)
        if len(present) == 1 or all(p is None or max(p.width, p.height) >= MIN_EACH_EDGE for p in each):
            return PreviewSet(each)
        return PreviewSet([None] * len(paths), contact_sheet(present, max_edge=MAX_EDGE[mode], budget=INLINE_BUDGET))
    except (OSError, ValueError, SyntaxError) as exc:  # what Pillow raises for unreadable images
        logger.warning("no preview sheet: %s", exc)
        return PreviewSet([None] * len(paths))


def contact_sheet(images: Sequence[tuple[Path, str]], *, max_edge: int, budget: int) -> Preview:
    """The images, each labelled, tiled in a near-square grid whose long edge is `max_edge`."""
    from PIL import Image

    tiles = [(_opened(path, "RGB"), label) for path, label in images]
    return encode_within(_grid(tiles, max_edge, Image.new("RGB", (1, 1), (255, 255, 255))), budget)


def layer_sheet(layers: Sequence[tuple[Path, str]], *, max_edge: int, budget: int) -> Preview:
    """A split into layers (front to back, the background last): their composite first, then each
    layer on a checkerboard, labelled."""
    from PIL import Image

    opened = [(_opened(path, "RGBA"), label) for path, label in layers]
    size = opened[-1][0].size
    composite = Image.new("RGBA", size, (0, 0, 0, 0))
    for layer, _ in reversed(opened):  # from the background to the front
        composite.alpha_composite(_fitted(layer, size))
    tiles = [(composite, "composite"), *opened]
    board = _checkerboard(size)
    on_board: list[tuple[PILImage.Image, str]] = []
    for image, label in tiles:
        backed = board.copy()
        backed.alpha_composite(_fitted(image, size))
        on_board.append((backed.convert("RGB"), label))
    return encode_within(_grid(on_board, max_edge, Image.new("RGB", (1, 1), (255, 255, 255))), budget)


def _opened(path: Path, mode: str) -> PILImage.Image:
    from PIL import Image

    with Image.open(path) as image:
        return image.convert(mode)


def _fitted(image: PILImage.Image, size: tuple[int, int]) -> PILImage.Image:
    if image.size == size:
        return image
    return image.resize(size)  # pyright: ignore[reportUnknownMemberType] - Pillow's stub names numpy


def _checkerboard(size: tuple[int, int]) -> PILImage.Image:
    from PIL import Image, ImageDraw

    board = Image.new("RGBA", size, (255, 255, 255, 255))
    draw = ImageDraw.Draw(board)
    for top in range(0, size[1], CHECKER):
        for left in range((top // CHECKER % 2) * CHECKER, size[0], 2 * CHECKER):
            draw.rectangle((left, top, left + CHECKER - 1, top + CHECKER - 1), fill=(204, 204, 204, 255))
    return board


def _grid(tiles: Sequence[tuple[PILImage.Image, str]], max_edge: int, paper: PILImage.Image) -> PILImage.Image:
    """The tiles in a near-square grid, each scaled into its cell with its label beneath."""
    from PIL import Image, ImageDraw, ImageFont

    columns = math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    widest = max(tile.width / tile.height for tile, _ in tiles)
    label_height = max(12, max_edge // 48)
    cell_width = (max_edge - GAP * (columns + 1)) // columns
    cell_height = int(cell_width / widest)
    height = rows * (cell_height + label_height + GAP) + GAP
    width = columns * (cell_width + GAP) + GAP
    if height > max_edge:  # tall tiles: the height is the long edge
        scale = max_edge / height
        cell_width, cell_height = int(cell_width * scale), int(cell_height * scale)
        width = columns * (cell_width + GAP) + GAP
        height = rows * (cell_height + label_height + GAP) + GAP
    sheet = _fitted(paper, (width, height))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=max(8, label_height - 2))
    for number, (tile, label) in enumerate(tiles):
        row, column = divmod(number, columns)
        thumb = tile.copy()
        thumb.thumbnail((max(1, cell_width), max(1, cell_height)), Image.Resampling.LANCZOS)
        left = GAP + column * (cell_width + GAP) + (cell_width - thumb.width) // 2
        top = GAP + row * (cell_height + label_height + GAP)
        sheet.paste(thumb, (left, top + (cell_height - thumb.height) // 2))
        draw.text((GAP + column * (cell_width + GAP), top + cell_height + 1), label, fill=(0, 0, 0), font=font)
    return sheet
