"""Rendered outputs: sizes, formats, determinism, edits, layers; presigned URLs and their expiry."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from PIL import Image

from luma_mcp.emulator import Emulator, EmulatorConfig

from ..support.samples import AUTH, KEY, b64, png_bytes

pytestmark = pytest.mark.anyio


async def _completed(api: httpx2.AsyncClient, emulator: Emulator, **body: Any) -> dict[str, Any]:
    response = await api.post("/generations", json={"prompt": "a red fox in the snow", **body})
    assert response.status_code == 201, response.text
    emulator.clock.advance(60)
    generation = (await api.get(f"/generations/{response.json()['id']}")).json()
    assert generation["state"] == "completed", generation
    return generation


async def _download(emulator: Emulator, url: str, **headers: str) -> httpx2.Response:
    # A separate client without the API key, as a careful client would do for the storage host.
    async with httpx2.AsyncClient(transport=emulator.transport()) as storage:
        return await storage.get(url, headers=headers)


def _image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


SIZES_2048 = {
    "3:1": (2048, 688),
    "2:1": (2048, 1024),
    "16:9": (2048, 1152),
    "3:2": (2048, 1360),
    "1:1": (2048, 2048),
    "2:3": (1360, 2048),
    "9:16": (1152, 2048),
    "1:2": (1024, 2048),
    "1:3": (688, 2048),
}


@pytest.mark.parametrize(("ratio", "size"), SIZES_2048.items())
async def test_outputs_are_2048_on_the_long_edge_in_the_ratio_asked(ratio: str, size: tuple[int, int]) -> None:
    emulator = Emulator(EmulatorConfig())  # full size: this is the contract's 2K
    async with httpx2.AsyncClient(transport=emulator.transport(), base_url=emulator.base_url, headers=AUTH) as api:
        generation = await _completed(api, emulator, aspect_ratio=ratio, output_format="jpeg")
    image = _image((await _download(emulator, generation["output"][0]["url"])).content)
    assert image.size == size


@pytest.mark.parametrize(
    ("output_format", "pil_format", "media_type"), [("png", "PNG", "image/png"), ("jpeg", "JPEG", "image/jpeg")]
)
async def test_the_requested_format_is_what_downloads(
    api: httpx2.AsyncClient, emulator: Emulator, output_format: str, pil_format: str, media_type: str
) -> None:
    generation = await _completed(api, emulator, output_format=output_format, aspect_ratio="16:9")
    response = await _download(emulator, generation["output"][0]["url"])
    assert response.headers["Content-Type"] == media_type
    image = _image(response.content)
    assert image.format == pil_format
    assert image.size == (128, 80)  # long edge configured to 128; 72 rounds to a multiple of 16


async def test_with_no_ratio_or_format_the_model_picks_one(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    photo = await _completed(api, emulator, prompt="a photograph of a cinematic landscape")
    drawing = await _completed(api, emulator, prompt="a cat")
    photo_image = _image((await _download(emulator, photo["output"][0]["url"])).content)
    drawing_image = _image((await _download(emulator, drawing["output"][0]["url"])).content)
    assert (photo_image.format, photo_image.width > photo_image.height) == ("JPEG", True)
    assert (drawing_image.format, drawing_image.width == drawing_image.height) == ("PNG", True)


async def test_a_generation_downloads_the_same_bytes_and_identical_requests_differ_as_the_model_s_do(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    first = await _completed(api, emulator, prompt="a fox", output_format="png")
    again = await _completed(api, emulator, prompt="a fox", output_format="png")
    other = await _completed(api, emulator, prompt="an owl", output_format="png")
    a, b, c = [await emulator.output_bytes(g["id"]) for g in (first, again, other)]
    assert (await _download(emulator, first["output"][0]["url"])).content == a  # stable per generation
    assert a != b  # four identical requests give four different images
    assert len({a, b, c}) == 3


async def test_an_edit_keeps_the_source_size_and_differs_from_it(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    source = png_bytes((90, 50))
    generation = await _completed(
        api, emulator, type="image_edit", prompt="make it blue", source={"data": b64(source), "media_type": "image/png"}
    )
    edited = (await _download(emulator, generation["output"][0]["url"])).content
    assert _image(edited).size == (90, 50)
    assert edited != source


async def test_layering_returns_one_png_per_layer_with_its_description(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    source = {"data": b64(png_bytes((200, 100))), "media_type": "image/png"}
    generation = await _completed(
        api, emulator, type="layering", prompt="", source=source, layering={"resolution": "1k"}
    )
    layers = generation["output"]
    assert [o["layer"]["index"] for o in layers] == [0, 1, 2]
    assert {o["layer"]["alpha_hint"] for o in layers} <= {"soft", "hard", "none"}
    assert (layers[-1]["layer"]["label"], layers[-1]["layer"]["alpha_hint"]) == ("background", "none")  # last
    for output in layers:
        image = _image((await _download(emulator, output["url"])).content)
        assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (64, 32))  # 1k: half the long edge


async def test_the_background_of_a_split_is_opaque_even_for_a_transparent_source(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (60, 40), (0, 0, 0, 0)).save(buffer, "PNG")
    source = {"data": b64(buffer.getvalue()), "media_type": "image/png"}
    generation = await _completed(api, emulator, type="layering", source=source)
    background = _image((await _download(emulator, generation["output"][-1]["url"])).content)
    assert generation["output"][-1]["layer"]["alpha_hint"] == "none"
    assert background.getchannel("A").getextrema() == (255, 255)  # every pixel opaque


@pytest.mark.parametrize("count", [1, 10])
async def test_a_split_makes_as_many_layers_as_scripted_front_to_back_with_extra_keys_and_a_price_per_layer(
    api: httpx2.AsyncClient, emulator: Emulator, count: int
) -> None:
    emulator.configure(layer_extra={"bounds": [0, 0, 64, 32]})
    emulator.script_next(layers=count)
    source = {"data": b64(png_bytes((200, 100))), "media_type": "image/png"}
    generation = await _completed(api, emulator, type="layering", source=source, layering={"resolution": "2k"})
    layers = [o["layer"] for o in generation["output"]]
    assert [layer["index"] for layer in layers] == list(range(count))
    assert layers[-1]["label"] == "background"
    assert [layer["alpha_hint"] == "none" for layer in layers] == [False] * (count - 1) + [True]
    assert all(layer["bounds"] == [0, 0, 64, 32] for layer in layers)
    assert emulator.spent_usd(KEY) == pytest.approx(0.0868 * count)  # 2k: twice an edit, per layer


async def test_output_urls_look_presigned_for_an_hour_and_each_get_mints_a_new_one(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    generation = await _completed(api, emulator)
    first = generation["output"][0]["url"]
    query = parse_qs(urlsplit(first).query)
    assert query["X-Amz-Expires"] == ["3600"]
    assert {"X-Amz-Signature", "X-Amz-Date", "X-Amz-Credential"} <= set(query)
    assert urlsplit(first).netloc != urlsplit(emulator.base_url).netloc  # storage is another host
    emulator.clock.advance(1)
    second = (await api.get(f"/generations/{generation['id']}")).json()["output"][0]["url"]
    assert second != first


async def test_an_output_url_works_for_an_hour_then_answers_403(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    generation = await _completed(api, emulator)
    url = generation["output"][0]["url"]
    emulator.clock.advance(3600)
    assert (await _download(emulator, url)).status_code == 200
    emulator.clock.advance(1)
    expired = await _download(emulator, url)
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code>" in expired.text
    fresh = (await api.get(f"/generations/{generation['id']}")).json()["output"][0]["url"]
    assert (await _download(emulator, fresh)).status_code == 200


async def test_a_tampered_url_is_refused(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    url = (await _completed(api, emulator))["output"][0]["url"]
    response = await _download(emulator, url.replace("X-Amz-Expires=3600", "X-Amz-Expires=999999"))
    assert response.status_code == 403
    assert "SignatureDoesNotMatch" in response.text


async def test_storage_refuses_a_request_that_also_carries_the_api_key(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    url = (await _completed(api, emulator))["output"][0]["url"]
    response = await api.get(url)  # the API client's default headers carry the key
    assert response.status_code == 400
    assert "Only one auth mechanism allowed" in response.text
    assert emulator.requests[-1].authorization_sent


async def test_chaining_an_edit_off_a_completed_generation(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    base = await _completed(api, emulator, aspect_ratio="16:9", output_format="png")
    edit = await _completed(api, emulator, type="image_edit", prompt="at night", source={"generation_id": base["id"]})
    edited = _image(await emulator.output_bytes(edit["id"]))
    assert edited.size == _image(await emulator.output_bytes(base["id"])).size
    assert await emulator.output_bytes(edit["id"]) != await emulator.output_bytes(base["id"])


async def test_chaining_needs_a_completed_generation_of_the_same_key(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    pending = (await api.post("/generations", json={"prompt": "a fox"})).json()["id"]
    body = {"prompt": "edit", "type": "image_edit", "source": {"generation_id": pending}}
    response = await api.post("/generations", json=body)
    assert (response.status_code, response.json()) == (
        422,
        {"detail": f"source: generation '{pending}' is not completed (state: queued)"},
    )
    emulator.clock.advance(60)
    other_key = await api.post("/generations", json=body, headers={"Authorization": "Bearer luma-api-someone-else"})
    assert (other_key.status_code, other_key.json()) == (422, {"detail": f"source: generation '{pending}' not found"})
    assert (await api.post("/generations", json=body)).status_code == 201


async def test_references_show_in_the_output(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    plain = await _completed(api, emulator, output_format="png")
    ref = {"data": b64(png_bytes((20, 20), (0, 255, 0))), "media_type": "image/png"}
    with_ref = await _completed(api, emulator, output_format="png", image_ref=[ref])
    assert await emulator.output_bytes(plain["id"]) != await emulator.output_bytes(with_ref["id"])


async def test_an_undecodable_source_fails_the_job_with_corrupt_input(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    broken = png_bytes()[:40]  # a PNG signature and header, then nothing
    body = {"prompt": "x", "type": "image_edit", "source": {"data": b64(broken), "media_type": "image/png"}}
    response = await api.post("/generations", json=body)
    assert response.status_code == 201
    emulator.clock.advance(60)
    generation = (await api.get(f"/generations/{response.json()['id']}")).json()
    assert (generation["state"], generation["failure_code"]) == ("failed", "corrupt_input")


async def test_with_stock_images_every_image_of_a_size_and_format_is_the_same_rendering(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    # For benchmarks of a client: the emulator's rendering stays out of what they measure.
    emulator.configure(stock_images=True)
    fox = await _completed(api, emulator, prompt="a fox", output_format="png", aspect_ratio="16:9")
    owl = await _completed(api, emulator, prompt="an owl", output_format="png", aspect_ratio="16:9")
    square = await _completed(api, emulator, prompt="an owl", output_format="png", aspect_ratio="1:1")
    photo = await _completed(api, emulator, prompt="an owl", output_format="jpeg", aspect_ratio="16:9")
    fox_bytes, owl_bytes, square_bytes, photo_bytes = [
        (await _download(emulator, g["output"][0]["url"])).content for g in (fox, owl, square, photo)
    ]
    assert fox_bytes == owl_bytes == await emulator.output_bytes(owl["id"])
    assert _image(square_bytes).size == (128, 128)
    assert (_image(photo_bytes).format, _image(photo_bytes).size) == ("JPEG", _image(fox_bytes).size)
