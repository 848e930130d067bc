"""An image input, piece by piece: what a file URL and base64 alone decide."""

from __future__ import annotations

import binascii

import pytest

from luma_mcp.api.models import MAX_INPUT_BYTES
from luma_mcp.media.image_input import ImageInput, check_data

from ..support.samples import b64, png_bytes


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("file:///C:/Users/me/My%20Pictures/cat.png", "C:/Users/me/My Pictures/cat.png"),
        ("file:///c:/cat.png", "c:/cat.png"),
        ("file:///home/me/cat.png", "/home/me/cat.png"),
        ("file://localhost/home/me/cat.png", "/home/me/cat.png"),
    ],
)
def test_file_urls_name_local_paths_and_windows_drives(url: str, path: str) -> None:
    assert ImageInput(url=url).local_path == path


def test_a_file_url_on_another_host_is_refused() -> None:
    with pytest.raises(ValueError, match="only local files are read"):
        ImageInput(url="file://fileserver/share/cat.png")


# Base64 at the edges: padding, stray characters, whitespace, data: URIs.
PNG = b64(png_bytes())
BASE64_EDGES = [
    PNG,
    PNG + "=",
    PNG + "A",
    PNG[:-1],
    PNG[:-2],
    PNG.rstrip("="),
    PNG[:40] + "=" + PNG[41:],
    PNG[:40] + "\n" + PNG[40:],
    PNG[:40] + "-_" + PNG[42:],
    PNG[:40] + "é" + PNG[41:],
    " " + PNG,
    "",
    "====",
    "iVBO=",
]


@pytest.mark.parametrize("text", BASE64_EDGES, ids=range(len(BASE64_EDGES)))
def test_the_quick_check_takes_what_a_strict_decode_takes(text: str) -> None:
    try:
        decoded: bytes | None = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        decoded = None
    if len(text) % 4:
        decoded = None  # stray '=' after a whole group, which even strict mode lets by, is refused too
    if decoded is None:
        with pytest.raises(ValueError, match="data is not valid base64"):
            check_data(text, "image/png")
    elif not decoded.startswith(b"\x89PNG"):
        with pytest.raises(ValueError, match="data is not a PNG"):
            check_data(text, "image/png")
    else:
        inline = check_data(text, "image/png")
        assert (inline.size, inline.decode()) == (len(decoded), decoded)


def test_a_data_uri_is_checked_and_kept_without_its_prefix() -> None:
    inline = check_data("data:image/png;base64," + PNG, None)
    assert (inline.base64, inline.media_type, inline.size) == (PNG, "image/png", len(png_bytes()))


def test_an_image_over_50_mb_is_refused_from_the_length_of_its_base64() -> None:
    text = b64(png_bytes() + bytes(MAX_INPUT_BYTES))
    with pytest.raises(ValueError, match="the API takes at most 50 MB"):
        check_data(text, "image/png")
