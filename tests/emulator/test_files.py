"""The Files API: presigned upload, complete, get, list, delete, multipart, and `file_id` inputs."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from luma_mcp.emulator import Emulator

from ..support.samples import png_bytes

pytestmark = pytest.mark.anyio

PNG = png_bytes((64, 48))


async def _upload(api: httpx2.AsyncClient, emulator: Emulator, data: bytes = PNG, mime: str = "image/png") -> str:
    created = await api.post("/files", json={"mime_type": mime, "size_bytes": len(data), "filename": "cat.png"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["state"], body["file"]["state"], body["upload"]["method"]) == ("pending", "pending", "PUT")
    async with httpx2.AsyncClient(transport=emulator.transport()) as storage:
        put = await storage.put(body["upload"]["url"], content=data, headers=body["upload"]["headers"])
    assert put.status_code == 200
    completed = await api.post(f"/files/{body['id']}/complete")
    assert completed.status_code == 200
    return body["id"]


async def _file(api: httpx2.AsyncClient, file_id: str) -> dict[str, Any]:
    return (await api.get(f"/files/{file_id}")).json()


async def test_presigned_upload_becomes_ready_and_serves_as_a_reference(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    file_id = await _upload(api, emulator)
    assert (await _file(api, file_id))["state"] == "pending"
    emulator.clock.advance(1)
    ready = await _file(api, file_id)
    assert (ready["state"], ready["size_bytes"], ready["mime_type"], ready["filename"]) == (
        "ready",
        len(PNG),
        "image/png",
        "cat.png",
    )
    response = await api.post(
        "/generations", json={"prompt": "x", "type": "image_edit", "source": {"file_id": file_id}}
    )
    assert response.status_code == 201
    emulator.clock.advance(60)
    import io

    from PIL import Image

    edited = Image.open(io.BytesIO(await emulator.output_bytes(response.json()["id"])))
    assert edited.size == (64, 48)


async def test_a_file_that_is_not_ready_cannot_be_referenced(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    file_id = await _upload(api, emulator)
    response = await api.post("/generations", json={"prompt": "x", "image_ref": [{"file_id": file_id}]})
    assert (response.status_code, response.json()) == (
        422,
        {"detail": f"image_ref[0]: file '{file_id}' is not ready (state: pending)"},
    )


async def test_a_wrong_size_or_type_fails_the_file(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    short = await api.post("/files", json={"mime_type": "image/png", "size_bytes": len(PNG) + 5})
    async with httpx2.AsyncClient(transport=emulator.transport()) as storage:
        await storage.put(short.json()["upload"]["url"], content=PNG, headers={"Content-Type": "image/png"})
    await api.post(f"/files/{short.json()['id']}/complete")
    text_file = await _upload(api, emulator, b"hello world", "image/png")
    emulator.clock.advance(1)
    failed = [await _file(api, short.json()["id"]), await _file(api, text_file)]
    assert [f["state"] for f in failed] == ["failed", "failed"]
    assert all(f["failure_reason"] for f in failed)


async def test_the_upload_url_checks_its_signature_and_content_type(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    body = (await api.post("/files", json={"mime_type": "image/png", "size_bytes": len(PNG)})).json()
    async with httpx2.AsyncClient(transport=emulator.transport()) as storage:
        wrong_type = await storage.put(body["upload"]["url"], content=PNG, headers={"Content-Type": "image/jpeg"})
        tampered = await storage.put(body["upload"]["url"] + "0", content=PNG, headers={"Content-Type": "image/png"})
        emulator.clock.advance(3601)
        late = await storage.put(body["upload"]["url"], content=PNG, headers={"Content-Type": "image/png"})
    assert [wrong_type.status_code, tampered.status_code, late.status_code] == [403, 403, 403]
    assert "Request has expired" in late.text


async def test_complete_before_upload_is_a_conflict(api: httpx2.AsyncClient) -> None:
    body = (await api.post("/files", json={"mime_type": "image/png", "size_bytes": 10})).json()
    response = await api.post(f"/files/{body['id']}/complete")
    assert (response.status_code, response.json()) == (409, {"detail": "File upload has not been received"})


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"mime_type": "text/plain", "size_bytes": 10},
            "Unsupported mime_type 'text/plain'. Valid: image/gif, image/jpeg, image/png, image/webp",
        ),
        ({"mime_type": "image/png", "size_bytes": 0}, "size_bytes must be an integer between 1 and 5368709120"),
        ({"mime_type": "image/png", "size_bytes": 10, "purpose": "x"}, "Invalid purpose 'x'. Valid: input, reference"),
    ],
)
async def test_file_creation_is_validated(api: httpx2.AsyncClient, body: dict[str, Any], detail: str) -> None:
    response = await api.post("/files", json=body)
    assert (response.status_code, response.json()) == (400, {"detail": detail})


async def test_multipart_upload_skips_the_put(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    response = await api.post("/files", files={"file": ("cat.png", PNG, "image/png")}, data={"purpose": "reference"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["upload"] is None
    emulator.clock.advance(1)
    assert (await _file(api, body["id"]))["state"] == "ready"
    assert (await _file(api, body["id"]))["purpose"] == "reference"


async def test_list_is_newest_first_paginated_and_delete_hides_a_file(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    ids = []
    for _ in range(3):
        ids.append(await _upload(api, emulator))
        emulator.clock.advance(1)
    first = (await api.get("/files", params={"limit": 2})).json()
    assert [f["id"] for f in first["data"]] == [ids[2], ids[1]]
    assert first["has_more"]
    rest = (await api.get("/files", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert ([f["id"] for f in rest["data"]], rest["has_more"], rest["next_cursor"]) == ([ids[0]], False, None)

    deleted = await api.delete(f"/files/{ids[1]}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert [f["id"] for f in (await api.get("/files")).json()["data"]] == [ids[2], ids[0]]
    assert (await _file(api, ids[1]))["state"] == "deleted"
    assert [f["id"] for f in (await api.get("/files", params={"state": "deleted"})).json()["data"]] == [ids[1]]
    reference = await api.post("/generations", json={"prompt": "x", "image_ref": [{"file_id": ids[1]}]})
    assert reference.status_code == 422


async def test_files_are_private_to_their_key(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    file_id = await _upload(api, emulator)
    other = {"Authorization": "Bearer luma-api-someone-else"}
    response = await api.get(f"/files/{file_id}", headers=other)
    assert (response.status_code, response.json()) == (404, {"detail": "File not found"})
    assert (await api.get("/files", headers=other)).json()["data"] == []
