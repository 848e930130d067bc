"""libvips (through `pyvips`, with the `pyvips-binary` wheel) for the one image job where it beats
Pillow: shrinking a full-size output to a preview. It decodes a strip at a time while other threads
shrink (PNG cannot be decoded at a reduced size the way JPEG can), so a 2048-px PNG takes a fraction
of Pillow's time and memory: the figures are in README's Performance table.

Loaded on first use, in a worker thread (start-up time), and configured once: no operation cache
(memory stays flat, and a file rewritten in place is read again), one thread of its own per image
(`media/image_threads.py` already runs one image per CPU: more threads only add buffers), and only
the loaders libvips marks trusted. Where it cannot load (a platform without the wheel) or cannot read an image, the
caller falls back to Pillow.
"""

from __future__ import annotations

import functools
import importlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image as PILImage

logger = logging.getLogger(__name__)


@functools.cache
def libvips() -> Any | None:
    """The configured `pyvips` module (untyped: it ships no stubs), or None where it cannot load."""
    # pyvips's DEBUG messages format an image with `repr`, which logs again: where DEBUG is on (a
    # host or a test that records everything), two image threads deadlock on two handlers' locks.
    # Its INFO messages are libvips's chatter: warnings and errors are kept.
    logging.getLogger("pyvips").setLevel(logging.WARNING)
    try:
        vips = importlib.import_module("pyvips")
    except (ImportError, OSError) as exc:  # no wheel for this platform, or its library would not load
        logger.info("previews with Pillow: libvips is not available (%s)", exc)
        return None
    vips.cache_set_max(0)
    vips.cache_set_max_mem(0)
    vips.cache_set_max_files(0)
    vips.concurrency_set(1)  # a 2048-px PNG's preview: ~10 MB less at its peak, the same CPU
    vips.block_untrusted_set(True)
    return vips


def shrunk(path: Path, max_edge: int) -> PILImage.Image | None:
    """The image at `path` shrunk (never enlarged) to a long edge of at most `max_edge`, in sRGB, as
    a Pillow image (RGB, or RGBA where it has transparency); None where libvips is not available or
    cannot read it. Blocking: run in a worker thread."""
    vips = libvips()
    if vips is None:
        return None
    from PIL import Image

    try:
        image = _reduced(vips, path, max_edge)
        if image.interpretation != "srgb" or image.format != "uchar":
            image = image.colourspace("srgb")
        if image.format != "uchar":
            image = image.cast("uchar")
        mode = "RGBA" if image.hasalpha() else "RGB"
        if image.bands != len(mode):
            image = image.extract_band(0, n=len(mode))
        pixels: bytes = image.write_to_memory()
    except vips.Error as exc:
        logger.debug("libvips could not shrink %s (%s); Pillow will", path, exc)
        return None
    return Image.frombuffer(mode, (image.width, image.height), pixels, "raw", mode, 0, 1)


def _reduced(vips: Any, path: Path, max_edge: int) -> Any:
    """The image at `path` shrunk (never enlarged) to a long edge of at most `max_edge`: by the
    whole factor with a box filter (each output pixel the mean of its block, as Pillow's `reduce`),
    then by what is left with Lanczos. A 2048-px output's `auto` preview is exactly half: box alone,
    ~8 ms of CPU less than Lanczos all the way (`benchmarks/preview.py`). An image with
    transparency, a colour profile or an orientation goes through `thumbnail`, which premultiplies,
    converts and turns it."""

    def source() -> Any:
        return vips.Source.new_from_file(str(path))  # a path's own name, never read for [options]

    image = vips.Image.new_from_source(source(), "", access="sequential")
    if image.hasalpha() or any(image.get_typeof(name) for name in ("icc-profile-data", "orientation")):
        return vips.Image.thumbnail_source(source(), max_edge, height=max_edge, size="down")
    long_edge = max(image.width, image.height)
    whole = long_edge // max_edge
    if whole > 1:
        image = image.shrink(whole, whole)
        long_edge = max(image.width, image.height)
    if long_edge > max_edge:
        image = image.resize(max_edge / long_edge, kernel="lanczos3")
    return image
