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

from .previews import MAX_EDGE, Preview, PreviewMode, encode_within, make_previews

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


def preview_set(
    paths: list[Path | None], labels: list[str], mode: PreviewMode, layers: bool, budget: int
) -> PreviewSet:
    """Previews of images sharing `budget` bytes (`labels` name them on a sheet). `layers`: the
    images are one split, front to back: shown side by side on a checkerboard beside their composite."""
    present = [(path, label) for path, label in zip(paths, labels, strict=True) if path is not None]
    if mode == "none" or not present:
        return PreviewSet([None] * len(paths))
    try:
        if layers and len(present) > 1:
            return PreviewSet([None] * len(paths), layer_sheet(present, max_edge=MAX_EDGE[mode], budget=budget))
        each = make_previews(paths, mode, budget)
        wanted = [min(MAX_EDGE[mode], MIN_EACH_EDGE, _long_edge(path)) if path else 0 for path in paths]
        if len(present) == 1 or all(
            p is None or max(p.width, p.height) >= w for p, w in zip(each, wanted, strict=True)
        ):
            return PreviewSet(each)
        return PreviewSet([None] * len(paths), contact_sheet(present, max_edge=MAX_EDGE[mode], budget=budget))
    except (OSError, ValueError, SyntaxError) as exc:  # what Pillow raises for unreadable images
        logger.warning("no preview sheet: %s", exc)
        return PreviewSet([None] * len(paths))


def _long_edge(path: Path) -> int:
    from PIL import Image

    with Image.open(path) as image:  # the header only: nothing decoded
        return max(image.size)


def contact_sheet(images: Sequence[tuple[Path, str]], *, max_edge: int, budget: int) -> Preview:
    """The images, each labelled, tiled in a near-square grid whose long edge is `max_edge`."""
    tiles = [(_opened(path, "RGB"), label) for path, label in images]
    return encode_within(_grid(tiles, max_edge, checker=False), budget)


def layer_sheet(layers: Sequence[tuple[Path, str]], *, max_edge: int, budget: int) -> Preview:
    """A split into layers (front to back, the background last): their composite first, then each
    layer on a checkerboard, labelled."""
    from PIL import Image

    opened = [(_opened(path, "RGBA"), label) for path, label in layers]
    size = opened[-1][0].size
    composite = Image.new("RGBA", size, (0, 0, 0, 0))
    for layer, _ in reversed(opened):  # from the background to the front
        composite.alpha_composite(_fitted(layer, size))
    return encode_within(_grid([(composite, "composite"), *opened], max_edge, checker=True), budget)


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


def _grid(tiles: Sequence[tuple[PILImage.Image, str]], max_edge: int, *, checker: bool) -> PILImage.Image:
    """The tiles in a near-square grid, each scaled into its cell (never past its own size) with
    its label beneath; `checker` shows their transparency on a checkerboard."""
    from PIL import Image, ImageDraw, ImageFont

    columns = math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    widest = max(tile.width / tile.height for tile, _ in tiles)
    label_height = max(12, max_edge // 48)
    # The largest cell of the tiles' widest shape for which the whole sheet keeps within max_edge.
    cell_width = min((max_edge - GAP * (columns + 1)) // columns, max(tile.width for tile, _ in tiles))
    cell_height = (max_edge - GAP - rows * (label_height + GAP)) // rows
    cell_height = max(1, min(cell_height, int(cell_width / widest)))
    cell_width = max(1, min(cell_width, int(cell_height * widest)))
    width = columns * (cell_width + GAP) + GAP
    height = rows * (cell_height + label_height + GAP) + GAP
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=max(8, label_height - 2))
    for number, (tile, label) in enumerate(tiles):
        row, column = divmod(number, columns)
        scale = min(cell_width / tile.width, cell_height / tile.height, 1.0)
        shown = tile.resize(  # pyright: ignore[reportUnknownMemberType] - Pillow's stub names numpy
            (max(1, round(tile.width * scale)), max(1, round(tile.height * scale))), Image.Resampling.LANCZOS
        )
        if checker:
            board = _checkerboard(shown.size)
            board.alpha_composite(shown.convert("RGBA"))
            shown = board
        left = GAP + column * (cell_width + GAP) + (cell_width - shown.width) // 2
        top = GAP + row * (cell_height + label_height + GAP)
        sheet.paste(shown.convert("RGB"), (left, top + (cell_height - shown.height) // 2))
        draw.text((GAP + column * (cell_width + GAP), top + cell_height + 1), label, fill=(0, 0, 0), font=font)
    return sheet
