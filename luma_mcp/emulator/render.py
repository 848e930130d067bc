"""Deterministic stand-in images: the same request always renders the same bytes.

An image is a gradient and shapes whose colours and places come from a hash of the prompt, with
the prompt written across it, so a person (or a model looking at the preview) can tell outputs apart.
Pillow is imported inside the functions: the emulator module must stay cheap to import.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image as PILImage
    from PIL import ImageFont

RATIO_PARTS: dict[str, tuple[int, int]] = {
    "3:1": (3, 1),
    "2:1": (2, 1),
    "16:9": (16, 9),
    "3:2": (3, 2),
    "1:1": (1, 1),
    "2:3": (2, 3),
    "9:16": (9, 16),
    "1:2": (1, 2),
    "1:3": (1, 3),
}
PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG"}
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}
EXTENSIONS = {"png": "png", "jpeg": "jpg"}


def output_size(aspect_ratio: str, long_edge: int) -> tuple[int, int]:
    """Long edge as configured, short edge rounded to a multiple of 16 (16:9 → 2048x1152) [guess]."""
    w, h = RATIO_PARTS[aspect_ratio]
    short = max(16, math.floor(long_edge * min(w, h) / max(w, h) / 16 + 0.5) * 16)  # half up, not to even
    return (long_edge, short) if w >= h else (short, long_edge)


def pick_aspect_ratio(prompt: str, style: str) -> str:
    """The model's pick when `aspect_ratio` is null [guess: keywords, else square; manga → 2:3]."""
    words = prompt.lower()
    if style == "manga" or any(w in words for w in ("portrait", "poster", "vertical", "phone wallpaper")):
        return "2:3"
    if any(w in words for w in ("panorama", "banner", "landscape", "widescreen", "cinematic")):
        return "16:9"
    return "1:1"


def pick_output_format(prompt: str) -> str:
    """The model's pick when `output_format` is null [guess: jpeg for photographs, else png]."""
    words = prompt.lower()
    return "jpeg" if any(w in words for w in ("photo", "photograph", "realistic")) else "png"


@dataclass(frozen=True)
class Palette:
    """Colours and positions derived from the prompt's hash."""

    seed: bytes

    @classmethod
    def of(cls, *parts: str) -> Palette:
        return cls(hashlib.sha256("\x1f".join(parts).encode()).digest())

    def color(self, i: int) -> tuple[int, int, int]:
        b = self.seed[(3 * i) % 30 : (3 * i) % 30 + 3]
        return (b[0], b[1], b[2])

    def fraction(self, i: int) -> float:
        return self.seed[i % 32] / 255


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    return ImageFont.load_default(size=max(8, size))


def _caption(image: PILImage.Image, text: str, palette: Palette, footer: str, *, at: float = 0.62) -> None:
    """Write `text` in a band whose top is at `at` of the height, and `footer` in the corner."""
    from PIL import ImageDraw

    width, height = image.size
    size = max(10, min(width, height) // 18)
    chars = max(8, int(width / (size * 0.55)))
    lines = textwrap.wrap(text, chars)[:4] or [" "]
    draw = ImageDraw.Draw(image, "RGBA")
    band_top = int(height * at)
    draw.rectangle((0, band_top, width, band_top + size * (len(lines) + 1)), fill=(0, 0, 0, 140))
    for i, line in enumerate(lines):
        draw.text((size // 2, band_top + size // 2 + i * size), line, fill=(255, 255, 255, 255), font=_font(size))
    small = max(8, size // 2)
    left, top, right, bottom = draw.textbbox((small, small), footer, font=_font(small))
    draw.rectangle((left - 4, top - 4, right + 4, bottom + 4), fill=(0, 0, 0, 150))
    draw.text((small, small), footer, fill=(255, 255, 255, 255), font=_font(small))


def _encode(image: PILImage.Image, output_format: str) -> bytes:
    buffer = io.BytesIO()
    if output_format == "jpeg":
        image.convert("RGB").save(buffer, "JPEG", quality=90)
    else:
        image.save(buffer, "PNG", compress_level=1)  # fast; the grain keeps sizes realistic anyway
    return buffer.getvalue()


def render_image(
    prompt: str,
    *,
    size: tuple[int, int],
    output_format: str,
    model: str,
    style: str,
    refs: Sequence[bytes] = (),
    variation: str = "",
) -> bytes:
    """A text-to-image output: gradient, shapes, thumbnails of the references and the prompt.
    `variation` (the generation's id) makes identical requests differ, as the model's do."""
    from PIL import Image, ImageDraw, ImageOps

    palette = Palette.of(prompt, model, style, variation)
    width, height = size
    gradient = _resize(Image.linear_gradient("L"), size)
    image = ImageOps.colorize(gradient, palette.color(0), palette.color(1)).convert("RGB")
    draw = ImageDraw.Draw(image, "RGBA")
    shapes = 9 if model == "uni-1-max" else 5
    for i in range(shapes):
        cx, cy = palette.fraction(2 * i) * width, palette.fraction(2 * i + 1) * height
        r = (0.08 + 0.2 * palette.fraction(i + 20)) * min(width, height)
        box = (cx - r, cy - r, cx + r, cy + r)
        fill = (*palette.color(i + 2), 170)
        if i % 2:
            draw.ellipse(box, fill=fill, outline=(0, 0, 0, 255) if style == "manga" else None, width=4)
        else:
            draw.rectangle(box, fill=fill, outline=(0, 0, 0, 255) if style == "manga" else None, width=4)
    # Film grain from a seeded generator: real outputs are photographs of a few MB, not flat
    # colour that compresses to nothing, and downloads and previews should be measured on that.
    grain = Image.frombytes(
        "L",
        size,
        random.Random(palette.seed).randbytes(width * height),  # noqa: S311 - texture, not secrecy
    )
    image = Image.blend(image, grain.convert("RGB"), 0.1)
    if style == "manga":
        image = ImageOps.grayscale(image).convert("RGB")
    _paste_thumbnails(image, refs)
    _caption(image, prompt, palette, f"{model} · {width}x{height}")
    return _encode(image, output_format)


def _paste_thumbnails(image: PILImage.Image, refs: Sequence[bytes]) -> None:
    """Reference images shown as a column of thumbnails on the right edge."""
    if not refs:
        return
    side = max(8, min(image.size) // 6)
    for i, data in enumerate(refs):
        thumb = open_image(data).convert("RGB")
        thumb.thumbnail((side, side))
        image.paste(thumb, (image.width - side - 8, 8 + i * (side + 8)))


def _resize(image: PILImage.Image, size: tuple[int, int]) -> PILImage.Image:
    return image.resize(size)  # pyright: ignore[reportUnknownMemberType] - Pillow's stub names numpy


def open_image(data: bytes) -> PILImage.Image:
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def render_edit(source: bytes, prompt: str, *, output_format: str, model: str, variation: str = "") -> bytes:
    """An edit keeps the source's size: the source tinted towards the prompt's colour, captioned."""
    from PIL import Image

    palette = Palette.of(prompt, model, "edit", variation)
    base = open_image(source).convert("RGB")
    tint = Image.new("RGB", base.size, palette.color(0))
    image = Image.blend(base, tint, 0.35)
    _caption(image, prompt, palette, at=0.1, footer=f"{model} edit · {base.width}x{base.height}")
    return _encode(image, output_format)


FRONT_LAYERS = (  # most likely first: (depth from the front, label, description, alpha_hint)
    (2, "subject", "The main subject, cut out", "soft"),
    (0, "foreground", "Text and details in front of the subject", "hard"),
    (3, "prop", "An object beside the subject", "hard"),
    (4, "shadow", "The subject's shadow", "soft"),
    (1, "accent", "Small accents scattered over the scene", "hard"),
    (5, "glass", "A translucent pane", "soft"),
    (6, "midground", "Shapes between the subject and the back", "hard"),
    (7, "haze", "Atmosphere over the distance", "soft"),
    (8, "sky", "The sky above the horizon", "soft"),
)
BACKGROUND_LAYER = ("background", "Everything behind the layers in front", "none")


def layer_plan(count: int) -> list[tuple[str, str, str]]:
    """(label, description, alpha_hint) of each of `count` layers, front to back: the last is the
    background, opaque (`none`), as the SDK documents [guess: which layers a split finds]."""
    front = sorted(FRONT_LAYERS[: count - 1])
    return [*((label, description, hint) for _, label, description, hint in front), BACKGROUND_LAYER]


def render_layers(
    source: bytes, prompt: str, *, long_edge: int, count: int, variation: str = ""
) -> list[tuple[bytes, str, str, str]]:
    """Layering: (PNG bytes, label, description, alpha_hint) per layer, front to back (the
    background last, opaque), scaled to `long_edge`. Each front layer is a ring of the source,
    smaller the nearer the front; stacked back to front they rebuild it."""
    from PIL import Image, ImageDraw

    base = open_image(source).convert("RGBA")
    scale = long_edge / max(base.size)
    size = (max(1, round(base.width * scale)), max(1, round(base.height * scale)))
    base = _resize(base, size)
    plan = layer_plan(count)
    layers: list[tuple[bytes, str, str, str]] = []
    for index, (label, description, alpha_hint) in enumerate(plan):
        depth = len(plan) - 1 - index  # 0 for the background, more towards the front
        if depth == 0:  # made opaque below, after its caption
            layer = base.copy()
        else:
            mask = Image.new("L", size, 0)
            inset = (depth * min(size)) // (2 * len(plan) + 2)
            ImageDraw.Draw(mask).ellipse((inset, inset, size[0] - inset, size[1] - inset), fill=255)
            layer = Image.new("RGBA", size, (0, 0, 0, 0))
            layer.paste(base, (0, 0), mask)
        _caption(
            layer, f"{label}: {prompt}" if prompt else label, Palette.of(prompt, label, variation), f"layer {index}"
        )
        if depth == 0:  # the background is opaque, whatever the source's transparency or the caption's band
            layer = Image.alpha_composite(Image.new("RGBA", size, (255, 255, 255, 255)), layer)
        layers.append((_encode(layer, "png"), label, description, alpha_hint))
    return layers
