"""Previews that fit every host: every ratio and format, several outputs, full-size images."""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path

import pytest
from mcp import Client
from mcp_types import ImageContent
from PIL import Image

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.server import build_server

from ..support.clocks import AutojumpTime
from ..support.samples import layering_job
from ..support.servers import assert_fits_the_host, blocks, inline_images, make_server, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

RATIOS = ["3:1", "2:1", "16:9", "3:2", "1:1", "2:3", "9:16", "1:2", "1:3"]


@pytest.mark.parametrize("output_format", ["png", "jpeg"])
@pytest.mark.parametrize("ratio", RATIOS)
async def test_every_ratio_and_format_fits_the_host_in_every_preview_mode(
    settings: Settings, emulator: Emulator, ratio: str, output_format: str
) -> None:
    emulator.configure(long_edge=2048)  # full size: what the API sends
    async with Client(make_server(settings, emulator)) as client:
        first = await client.call_tool(
            "generate_image",
            {"prompt": "a detailed harbour at dusk", "aspect_ratio": ratio, "output_format": output_format},
        )
        gid = structured(first)["generation_id"]
        results = {"auto": first}
        for mode in ("full", "none"):
            results[mode] = await client.call_tool("get_generation", {"generation_id": gid, "preview": mode})
    for mode, result in results.items():
        assert not result.is_error
        assert_fits_the_host(result, mode)
    [output] = structured(first)["outputs"]
    assert Path(output["path"]).read_bytes() == await emulator.output_bytes(gid)
    assert max(output["width"], output["height"]) == 2048
    previews = {mode: inline_images(r) for mode, r in results.items()}
    assert max(Image.open(io.BytesIO(previews["auto"][0])).size) == 1024
    assert max(Image.open(io.BytesIO(previews["full"][0])).size) == 1568


@pytest.mark.parametrize("ratio", RATIOS)
async def test_four_candidates_share_the_host_s_budget_in_every_ratio(
    settings: Settings, emulator: Emulator, autojump: AutojumpTime, ratio: str
) -> None:
    emulator.configure(long_edge=2048)
    async with Client(build_server(settings, transport=emulator.transport(), timekeeper=autojump)) as client:
        result = await client.call_tool(
            "generate_image",
            {
                "prompt": "busy texture " * 20,
                "aspect_ratio": ratio,
                "output_format": "png",
                "count": 4,
                "preview": "full",
            },
        )
    data = structured(result)
    assert [m["state"] for m in data["generations"]] == ["completed"] * 4
    assert 1 <= len(inline_images(result)) <= 4  # each where it fits, else one sheet
    assert_fits_the_host(result, "full")


async def test_the_layers_of_a_split_share_one_preview_within_the_budget(
    settings: Settings, emulator: Emulator
) -> None:
    emulator.configure(long_edge=2048)
    gid = await layering_job(emulator, "busy texture " * 20, size=2048)
    async with Client(make_server(settings, emulator)) as client:
        result = await client.call_tool("get_generation", {"generation_id": gid, "preview": "full"})
    assert len(structured(result)["outputs"]) == 3
    assert len(inline_images(result)) == 1  # one sheet: the composite and each layer
    assert_fits_the_host(result, "full")


async def test_preview_is_small_even_for_a_full_size_output(settings: Settings, emulator: Emulator, mode: str) -> None:
    emulator.configure(long_edge=2048)
    async with Client(make_server(settings, emulator), mode=mode) as client:  # pyright: ignore[reportArgumentType]
        result = await client.call_tool("generate_image", {"prompt": "a big fox", "aspect_ratio": "1:1"})
    [preview] = blocks(result, ImageContent)
    raw = base64.b64decode(preview.data)
    assert len(raw) < 700_000
    assert Image.open(io.BytesIO(raw)).size == (1024, 1024)
    assert structured(result)["outputs"][0]["width"] == 2048


def _mean_difference(first: bytes, second: bytes) -> float:
    """Mean absolute difference per channel, 0–255, of two images of one size."""
    from PIL import ImageChops, ImageStat

    a, b = (Image.open(io.BytesIO(data)).convert("RGBA") for data in (first, second))
    assert a.size == b.size
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 4


@pytest.mark.parametrize(
    ("mode", "size"),
    [("auto", (1024, 576)), ("full", (1568, 882))],
    ids=["half-box-only", "by-a-fraction"],
)
@pytest.mark.parametrize("output_format", ["png", "jpeg"])
async def test_a_preview_shows_the_same_picture_whether_libvips_or_pillow_shrinks_it(
    settings: Settings,
    emulator: Emulator,
    output_format: str,
    mode: str,
    size: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from luma_mcp.media import vips

    assert vips.libvips() is not None  # the wheel is installed here: PNGs go through libvips
    emulator.configure(long_edge=2048)
    arguments = {"prompt": "a harbour", "aspect_ratio": "16:9", "output_format": output_format, "preview": mode}
    async with Client(make_server(settings, emulator)) as client:
        made = await client.call_tool("generate_image", arguments)
        # A platform without the wheel: Pillow makes every preview, of the same picture.
        monkeypatch.setattr(vips, "libvips", lambda: None)
        looked = await client.call_tool(
            "get_generation", {"generation_id": structured(made)["generation_id"], "preview": mode}
        )
    [shrunk], [by_pillow] = inline_images(made), inline_images(looked)
    assert Image.open(io.BytesIO(shrunk)).size == Image.open(io.BytesIO(by_pillow)).size == size
    assert _mean_difference(shrunk, by_pillow) < 4


@pytest.mark.parametrize("libvips", [True, False], ids=["libvips", "pillow"])
def test_a_transparent_png_previews_as_webp_keeping_its_transparency(
    tmp_path: Path, libvips: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from luma_mcp.media import vips
    from luma_mcp.media.previews import make_preview

    if not libvips:
        monkeypatch.setattr(vips, "libvips", lambda: None)
    image = Image.radial_gradient("L").resize((1600, 1200)).convert("RGBA")
    image.putalpha(Image.linear_gradient("L").resize((1600, 1200)))
    image.save(tmp_path / "layer.png")
    preview = make_preview(tmp_path / "layer.png", max_edge=1024, budget=700_000)
    shown = Image.open(io.BytesIO(preview.data))
    assert (preview.media_type, shown.size, shown.mode) == ("image/webp", (1024, 768), "RGBA")
    assert shown.getchannel("A").getextrema() == (0, 255)  # the transparency is still there, all of it


def test_an_image_libvips_cannot_read_is_left_to_pillow(tmp_path: Path) -> None:
    from luma_mcp.media.vips import shrunk

    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not a PNG after all" * 10)
    assert shrunk(damaged, 1024) is None  # no exception: the caller tries Pillow, which names the damage


def test_previews_at_once_never_hang_where_everything_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A host (or a test) logging at DEBUG: pyvips's own debug messages, which log again while they
    are formatted and so deadlock two image threads on the handlers' locks, are never made."""
    from concurrent.futures import ThreadPoolExecutor

    from luma_mcp.media.vips import shrunk

    picture = tmp_path / "picture.png"
    Image.new("RGB", (640, 360), (200, 90, 40)).save(picture)
    caplog.set_level(logging.DEBUG)
    with ThreadPoolExecutor(4) as threads:
        made = list(threads.map(lambda _: shrunk(picture, 256), range(16)))
    assert all(image is not None and image.size == (256, 144) for image in made)
    assert not [record for record in caplog.records if record.name.startswith("pyvips")]
