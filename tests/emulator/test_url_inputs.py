"""Image inputs by URL: registered URLs, the emulator's own output links, failures and 413."""

from __future__ import annotations

import httpx2
import pytest

from luma_mcp.emulator import Emulator

from ..support.samples import png_bytes

pytestmark = pytest.mark.anyio

URL = "https://images.example.com/cat.png"


async def _with_ref(api: httpx2.AsyncClient, url: str) -> httpx2.Response:
    return await api.post("/generations", json={"prompt": "x", "image_ref": [{"url": url}]})


async def test_a_registered_url_is_fetched(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.register_url(URL, png_bytes())
    assert (await _with_ref(api, URL)).status_code == 201


@pytest.mark.parametrize(
    ("status", "content_type", "data", "answer", "detail"),
    [
        (404, "text/html", b"nope", 422, "image_ref[0]: failed to fetch URL (HTTP 404)"),
        (200, "text/html", b"<html>", 422, "image_ref[0]: content-type is not an image"),
        (200, "image/png", b"not really a png", 422, "image_ref[0]: content is not a PNG, JPEG, WebP or GIF image"),
        (200, "image/png", b"\x89PNG\r\n\x1a\n" + bytes(52_428_800), 413, "image_ref[0]: image exceeds 50 MB limit"),
    ],
    ids=["http-404", "not-image", "bad-bytes", "too-large"],
)
async def test_url_failures_name_the_field(
    api: httpx2.AsyncClient, emulator: Emulator, status: int, content_type: str, data: bytes, answer: int, detail: str
) -> None:
    emulator.register_url(URL, data, content_type=content_type, status=status)
    response = await _with_ref(api, URL)
    assert (response.status_code, response.json()) == (answer, {"detail": detail})


async def test_unregistered_urls_without_network_fetching_answer_503(api: httpx2.AsyncClient) -> None:
    response = await _with_ref(api, "https://unknown.example.com/x.png")
    assert (response.status_code, response.json()) == (503, {"detail": "Image URL ingestion unavailable"})


async def test_an_output_url_of_the_emulator_is_an_input_until_it_expires(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    generation_id = (await api.post("/generations", json={"prompt": "x"})).json()["id"]
    emulator.clock.advance(60)
    url = (await api.get(f"/generations/{generation_id}")).json()["output"][0]["url"]
    assert (await _with_ref(api, url)).status_code == 201
    emulator.clock.advance(3601)
    expired = await _with_ref(api, url)
    assert (expired.status_code, expired.json()) == (422, {"detail": "image_ref[0]: failed to fetch URL (HTTP 403)"})
