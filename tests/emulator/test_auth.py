"""Authentication: the four 401 texts, 403 for a suspended client, and the headers on every answer."""

from __future__ import annotations

import httpx2
import pytest

from luma_mcp.emulator import Emulator, EmulatorConfig

pytestmark = pytest.mark.anyio


async def _post(emulator: Emulator, headers: dict[str, str]) -> httpx2.Response:
    async with httpx2.AsyncClient(transport=emulator.transport(), base_url=emulator.base_url) as client:
        return await client.post("/generations", json={"prompt": "x"}, headers=headers)


@pytest.mark.parametrize(
    "header",
    [None, "bearer luma-api-abc", "Basic luma-api-abc", "Bearer sk-abc", "Bearer luma-api-", "Bearer"],
    ids=["missing", "lowercase-scheme", "basic", "wrong-prefix", "empty-key", "no-key"],
)
async def test_malformed_credentials_are_missing_or_invalid(emulator: Emulator, header: str | None) -> None:
    response = await _post(emulator, {} if header is None else {"Authorization": header})
    assert (response.status_code, response.json()) == (401, {"detail": "Missing or invalid API key"})


@pytest.mark.parametrize(
    ("state", "status", "detail"),
    [
        ("invalid", 401, "Invalid API key"),
        ("revoked", 401, "API key has been revoked"),
        ("expired", 401, "API key has expired"),
        ("suspended", 403, "API client is suspended"),
    ],
)
async def test_key_states_answer_their_status(emulator: Emulator, state: str, status: int, detail: str) -> None:
    emulator.set_key("luma-api-k", state)  # pyright: ignore[reportArgumentType]
    response = await _post(emulator, {"Authorization": "Bearer luma-api-k"})
    assert (response.status_code, response.json()) == (status, {"detail": detail})


async def test_with_a_key_list_an_unknown_key_is_invalid() -> None:
    emulator = Emulator(EmulatorConfig(api_keys=frozenset({"luma-api-good"})))
    assert (await _post(emulator, {"Authorization": "Bearer luma-api-good"})).status_code == 201
    response = await _post(emulator, {"Authorization": "Bearer luma-api-other"})
    assert (response.status_code, response.json()) == (401, {"detail": "Invalid API key"})


async def test_auth_is_checked_before_the_body(emulator: Emulator) -> None:
    async with httpx2.AsyncClient(transport=emulator.transport(), base_url=emulator.base_url) as client:
        response = await client.post("/generations", json={"prompt": ""})
    assert response.status_code == 401


async def test_every_answer_echoes_the_request_id_and_names_the_api_version(emulator: Emulator) -> None:
    async with httpx2.AsyncClient(transport=emulator.transport(), base_url=emulator.base_url) as client:
        answers = [
            await client.post("/generations", json={"prompt": "x"}, headers={"X-Request-Id": "req-1"}),
            await client.get("/generations/abc", headers={"X-Request-Id": "req-2"}),
            await client.get("/nowhere", headers={"X-Request-Id": "req-3"}),
        ]
    assert [a.headers["X-Request-Id"] for a in answers] == ["req-1", "req-2", "req-3"]
    assert {a.headers["X-API-Version"] for a in answers} == {"2026-04-01"}


async def test_without_a_request_id_the_answer_carries_a_fresh_uuid(emulator: Emulator) -> None:
    first = await _post(emulator, {})
    second = await _post(emulator, {})
    ids = {first.headers["X-Request-Id"], second.headers["X-Request-Id"]}
    assert len(ids) == 2
    assert all(len(i) == 36 for i in ids)


async def test_the_log_never_holds_the_key(emulator: Emulator) -> None:
    await _post(emulator, {"Authorization": "Bearer luma-api-secret-123"})
    record = emulator.requests[-1]
    assert "luma-api-secret-123" not in repr(record)
    assert record.key_fingerprint is not None
    assert record.authorization_sent
