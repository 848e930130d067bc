"""Previews that fit every host: what the model sees inline, never the saved file itself.

Modes: `auto` keeps each preview's long edge ≤ 1024 px, `full` ≤ 1568 px (what Claude's vision
uses before downscaling anyway), `none` sends no image. Whatever the mode, all the previews of one
result share 700 KB of raw bytes: Claude Desktop refuses results over 1 MB, and base64 adds a third.
JPEG is used (WebP where there is transparency), quality first and then size reduced until the
budget holds. Full-size PNGs are shrunk by libvips where it is there (`vips.py`), JPEGs by
Pillow. Several images that would be too small each go on one sheet (`sheets.py`); the layers of a
split always do. Blocking: run in a worker thread.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal, NamedTuple

from .sniff import sniff_media_type
from .vips import shrunk

if TYPE_CHECKING:
    from PIL import Image as PILImage

logger = logging.getLogger(__name__)

PreviewMode = Literal["auto", "full", "none"]
"""How large the inline previews are: `auto`, `full`, or `none` at all."""
MAX_EDGE: dict[PreviewMode, int] = {"auto": 1024, "full": 1568}
INLINE_BUDGET = 700_000
"""Raw bytes of all inline images in one result."""
QUALITIES = (85, 75, 65, 55)


class Preview(NamedTuple):  # not a dataclass: making one costs ~0.8 ms at start-up (settings import this module)
    """A small rendition of an output, for the model to look at."""

    data: bytes
    media_type: str
    width: int
    height: int


def make_preview(path: Path | BinaryIO, *, max_edge: int, budget: int) -> Preview:
    """One preview of the image at `path` (or in a binary stream) with the long edge at most
    `max_edge` and at most `budget` bytes. A JPEG is shrunk by Pillow, which decodes it at a reduced
    scale (twice as fast as libvips); any other file (PNG cannot be decoded at a reduced size) by
    libvips where it is there, in less time and half the memory (see `vips.py`); else, and a
    stream, by Pillow."""
    image = None
    if isinstance(path, Path):
        with path.open("rb") as file:
            jpeg = sniff_media_type(file.read(16)) == "image/jpeg"
        image = None if jpeg else shrunk(path, max_edge)
    return encode_within(image or shrunk_by_pillow(path, max_edge), budget)


def shrunk_by_pillow(path: Path | BinaryIO, max_edge: int) -> PILImage.Image:
    """The image at `path` (or in a binary stream) shrunk by Pillow to a long edge of at most
    `max_edge` (RGB, or RGBA where it has transparency)."""
    from PIL import Image

    with Image.open(path) as source:
        scale = min(1.0, max_edge / max(source.size))
        # JPEG decodes at a reduced scale, down to the preview's own size: much faster, less memory.
        source.draft("RGB", (max(1, int(source.width * scale)), max(1, int(source.height * scale))))
        alpha = source.mode in ("RGBA", "LA", "PA") or (source.mode == "P" and "transparency" in source.info)
        image = source.convert("RGBA" if alpha else "RGB")
    image.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS, reducing_gap=1.0)  # box-reduce first: 10× faster
    return image


def encode_within(image: PILImage.Image, budget: int) -> Preview:
    """`image` as JPEG (WebP where it has transparency) of at most `budget` bytes: quality first,
    then size, reduced until it fits."""
    from PIL import Image

    alpha = image.mode == "RGBA"
    fmt, media_type = ("WEBP", "image/webp") if alpha else ("JPEG", "image/jpeg")
    while True:
        buffer = io.BytesIO()
        for quality in QUALITIES:
            buffer = io.BytesIO()
            image.save(buffer, fmt, quality=quality)
            if buffer.tell() <= budget:
                break
        if buffer.tell() <= budget or max(image.size) <= 64:
            return Preview(buffer.getvalue(), media_type, image.width, image.height)
        image = image.copy()
        image.thumbnail((int(image.width * 0.75), int(image.height * 0.75)), Image.Resampling.LANCZOS)


def make_previews(paths: list[Path | None], mode: PreviewMode, budget: int = INLINE_BUDGET) -> list[Preview | None]:
    """Previews of images sharing `budget` (a result's, by default); None where there is no file."""
    if mode == "none":
        return [None for _ in paths]
    budget //= max(1, sum(1 for p in paths if p is not None))
    previews: list[Preview | None] = []
    for path in paths:
        try:
            previews.append(None if path is None else make_preview(path, max_edge=MAX_EDGE[mode], budget=budget))
        except (OSError, ValueError, SyntaxError) as exc:  # what Pillow raises for unreadable images
            logger.warning("no preview of %s: %s", path, exc)
            previews.append(None)
    return previews
