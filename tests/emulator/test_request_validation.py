"""Every synchronous rejection of POST /v1/generations: status and `detail`, and nothing queued."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from luma_mcp.emulator import Emulator

from ..support.samples import b64, png_bytes

pytestmark = pytest.mark.anyio

PNG = b64(png_bytes())
DATA_REF = {"data": PNG, "media_type": "image/png"}

# (body, status, detail): the contract's texts where it gives them, the emulator's [guess]es otherwise.
REJECTIONS: list[tuple[Any, int, str]] = [
    (["not", "an", "object"], 400, "Request body must be a JSON object"),
    ({"prompt": "x", "model": "uni-2"}, 400, "Unknown model: uni-2"),
    ({"prompt": "x", "type": "video"}, 400, "Type 'video' is not supported for model 'uni-1'"),
    (
        {"prompt": "x", "model": "uni-1-max", "type": "layering"},
        400,
        "Type 'layering' is not supported for model 'uni-1-max'",
    ),
    ({"prompt": "x", "model": "ray-3.2"}, 400, "Type 'image' is not supported for model 'ray-3.2'"),
    (
        {"prompt": "x", "model": "ray-3.2", "type": "video"},
        400,
        "Type 'video' is not emulated (the emulator renders images only)",
    ),
    ({}, 400, "Prompt must be between 1 and 6000 characters"),
    ({"prompt": ""}, 400, "Prompt must be between 1 and 6000 characters"),
    ({"prompt": "x" * 6001}, 400, "Prompt must be between 1 and 6000 characters"),
    ({"prompt": 42}, 400, "Prompt must be between 1 and 6000 characters"),
    (
        {"prompt": "x" * 501, "type": "layering", "source": DATA_REF},
        400,
        "Prompt must be at most 500 characters for type 'layering'",
    ),
    (
        {"prompt": "x", "aspect_ratio": "4:3"},
        400,
        "Invalid aspect_ratio '4:3'. Valid: 1:1, 1:2, 1:3, 16:9, 2:1, 2:3, 3:1, 3:2, 9:16",
    ),
    ({"prompt": "x", "style": "anime"}, 400, "Invalid style 'anime'. Valid: auto, manga"),
    ({"prompt": "x", "output_format": "webp"}, 400, "Invalid output_format 'webp'. Valid: jpeg, png"),
    ({"prompt": "x", "web_search": "yes"}, 400, "web_search must be a boolean"),
    ({"prompt": "x", "user_id": "u" * 257}, 400, "user_id must be a string of at most 256 characters"),
    ({"prompt": "x", "source": DATA_REF}, 400, "source is only valid for type 'image_edit'"),
    ({"prompt": "x", "type": "image_edit"}, 400, "source is required for type 'image_edit'"),
    ({"prompt": "x", "image_ref": DATA_REF}, 400, "image_ref must be a list of image references"),
    ({"prompt": "x", "image_ref": [DATA_REF] * 10}, 400, "image supports up to 9 reference images"),
    (
        {"prompt": "x", "type": "image_edit", "source": DATA_REF, "image_ref": [DATA_REF] * 9},
        400,
        "image_edit supports up to 8 reference images (source occupies one slot)",
    ),
    (
        {"prompt": "x", "image_ref": [{"url": "https://example.com/a.png", "data": PNG, "media_type": "image/png"}]},
        400,
        "image_ref[0]: provide either 'url' or 'data', not both",
    ),
    ({"prompt": "x", "image_ref": [{"data": PNG}]}, 400, "image_ref[0]: 'media_type' is required with 'data'"),
    (
        {"prompt": "x", "image_ref": [DATA_REF, {}]},
        400,
        "image_ref[1]: provide exactly one of 'url', 'data', 'generation_id' or 'file_id'",
    ),
    (
        {"prompt": "x", "image_ref": [{"generation_id": "a", "file_id": "b"}]},
        400,
        "image_ref[0]: provide exactly one of 'url', 'data', 'generation_id' or 'file_id'",
    ),
    (
        {"prompt": "x", "image_ref": ["https://example.com/a.png"]},
        400,
        "image_ref[0]: must be an object with one of 'url', 'data', 'generation_id' or 'file_id'",
    ),
    ({"prompt": "x", "image_ref": [{"url": "file:///etc/passwd"}]}, 400, "image_ref[0]: 'url' must be an http(s) URL"),
    ({"prompt": "x", "image_ref": [{"url": 7}]}, 400, "image_ref[0]: 'url' must be a non-empty string"),
    (
        {"prompt": "x", "style": "manga", "aspect_ratio": "16:9"},
        422,
        "style 'manga' requires a portrait aspect_ratio (2:3, 9:16, 1:2, 1:3) or none",
    ),
    (
        {"prompt": "x", "image_ref": [{"data": "not base64!", "media_type": "image/png"}]},
        422,
        "image_ref[0]: invalid base64 data",
    ),
    (
        {"prompt": "x", "image_ref": [{"data": "data:image/png;base64," + PNG, "media_type": "image/png"}]},
        422,
        "image_ref[0]: invalid base64 data",
    ),
    (
        {"prompt": "x", "image_ref": [{"data": b64(b"hello, not an image"), "media_type": "image/png"}]},
        422,
        "image_ref[0]: content is not a PNG, JPEG, WebP or GIF image",
    ),
    (
        {"prompt": "x", "image_ref": [{"data": PNG, "media_type": "image/heic"}]},
        422,
        "image_ref[0]: unsupported media_type 'image/heic'. Supported: image/gif, image/jpeg, image/png, image/webp",
    ),
    (
        {"prompt": "x", "image_ref": [{"data": PNG, "media_type": "image/jpeg"}]},
        422,
        "image_ref[0]: media_type 'image/jpeg' does not match the data (image/png)",
    ),
    (
        {"prompt": "x", "type": "image_edit", "source": {"generation_id": "00000000-0000-0000-0000-000000000000"}},
        422,
        "source: generation '00000000-0000-0000-0000-000000000000' not found",
    ),
    ({"prompt": "x", "image_ref": [{"file_id": "nope"}]}, 422, "image_ref[0]: file 'nope' not found"),
    ({"prompt": "x", "image_ref": [{"url": "https://example.com/a.png"}]}, 503, "Image URL ingestion unavailable"),
]


@pytest.mark.parametrize(("body", "status", "detail"), REJECTIONS, ids=[r[2][:60] for r in REJECTIONS])
async def test_invalid_request_is_rejected_with_its_detail_and_nothing_is_queued(
    api: httpx2.AsyncClient, emulator: Emulator, body: Any, status: int, detail: str
) -> None:
    response = await api.post("/generations", json=body)
    assert (response.status_code, response.json()) == (status, {"detail": detail})
    assert emulator.generation_ids() == []
    assert emulator.spent_usd("luma-api-test-key") == 0


async def test_invalid_json_is_a_400(api: httpx2.AsyncClient) -> None:
    response = await api.post("/generations", content=b"{prompt", headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (400, {"detail": "Request body must be valid JSON"})


async def test_fifty_megabytes_of_image_is_a_413_naming_the_field(api: httpx2.AsyncClient) -> None:
    big = b64(b"\x89PNG\r\n\x1a\n" + bytes(52_428_800))
    body = {"prompt": "x", "image_ref": [DATA_REF, DATA_REF, {"data": big, "media_type": "image/png"}]}
    response = await api.post("/generations", json=body)
    assert (response.status_code, response.json()) == (413, {"detail": "image_ref[2]: image exceeds 50 MB limit"})


async def test_animated_gif_is_refused(api: httpx2.AsyncClient) -> None:
    import io

    from PIL import Image

    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    ref = {"data": b64(buffer.getvalue()), "media_type": "image/gif"}
    response = await api.post("/generations", json={"prompt": "x", "image_ref": [ref]})
    assert (response.status_code, response.json()) == (422, {"detail": "image_ref[0]: animated GIFs are not supported"})


async def test_null_optional_fields_take_their_defaults(api: httpx2.AsyncClient) -> None:
    # The official SDK sends an explicit None as null.
    body = {
        "prompt": "a fox",
        "model": None,
        "type": None,
        "aspect_ratio": None,
        "style": None,
        "output_format": None,
        "web_search": None,
        "user_id": None,
        "source": None,
        "image_ref": None,
    }
    response = await api.post("/generations", json=body)
    assert response.status_code == 201
    assert response.json()["model"] == "uni-1"
    assert response.json()["type"] == "image"


async def test_manga_with_a_portrait_ratio_or_none_is_accepted(api: httpx2.AsyncClient) -> None:
    for ratio in ("2:3", "9:16", "1:2", "1:3", None):
        response = await api.post("/generations", json={"prompt": "a warrior", "style": "manga", "aspect_ratio": ratio})
        assert response.status_code == 201, (ratio, response.text)


async def test_accepted_request_answers_201_queued_with_empty_output(api: httpx2.AsyncClient) -> None:
    response = await api.post("/generations", json={"prompt": "a fox", "model": "uni-1-max", "aspect_ratio": "16:9"})
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "queued"
    assert body["output"] == []
    assert body["model"] == "uni-1-max"
    assert body["failure_code"] is None
    assert body["failure_reason"] is None
    assert body["created_at"].endswith("Z")
    assert len(body["id"]) == 36
