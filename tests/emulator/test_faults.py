"""Injected faults, per route: what a client sees, and what the emulator did behind it."""

from __future__ import annotations

import httpx2
import pytest

from luma_mcp.emulator import Emulator

pytestmark = pytest.mark.anyio


async def _completed_url(api: httpx2.AsyncClient, emulator: Emulator) -> str:
    generation_id = (await api.post("/generations", json={"prompt": "x", "output_format": "png"})).json()["id"]
    emulator.clock.advance(60)
    return (await api.get(f"/generations/{generation_id}")).json()["output"][0]["url"]


@pytest.mark.parametrize(
    ("status", "detail"),
    [(429, "Rate limit exceeded"), (502, "Upstream service unavailable"), (503, "Image URL ingestion unavailable")],
)
async def test_status_fault_on_create_answers_it_and_queues_nothing(
    api: httpx2.AsyncClient, emulator: Emulator, status: int, detail: str
) -> None:
    emulator.inject("create", "status", status=status)
    response = await api.post("/generations", json={"prompt": "x"})
    assert (response.status_code, response.json()) == (status, {"detail": detail})
    assert response.headers["X-Request-Id"]
    assert emulator.generation_ids() == []
    assert (await api.post("/generations", json={"prompt": "x"})).status_code == 201  # consumed once


async def test_status_fault_carries_retry_after_when_set(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.inject("get", "status", status=429, retry_after=7)
    emulator.inject("get", "status", status=502, count=2)
    answers = [await api.get("/generations/x") for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 502, 502, 404]
    assert answers[0].headers["Retry-After"] == "7"
    assert "Retry-After" not in answers[1].headers


async def test_a_502_after_the_job_was_queued_is_possible_too(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.inject("create", "status", status=502, created=True)
    assert (await api.post("/generations", json={"prompt": "x"})).status_code == 502
    assert len(emulator.generation_ids()) == 1  # the outcome a client cannot know


async def test_dropped_create_raises_a_protocol_error_after_creating(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    emulator.inject("create", "drop")
    with pytest.raises(httpx2.RemoteProtocolError):
        await api.post("/generations", json={"prompt": "x"})
    assert len(emulator.generation_ids()) == 1
    assert emulator.requests[-1].fault == "drop"


async def test_a_drop_before_handling_creates_nothing(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.inject("create", "drop", created=False)
    with pytest.raises(httpx2.RemoteProtocolError):
        await api.post("/generations", json={"prompt": "x"})
    assert emulator.generation_ids() == []


async def test_refused_connection_never_reaches_the_server(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.inject("create", "refuse")
    with pytest.raises(httpx2.ConnectError):
        await api.post("/generations", json={"prompt": "x"})
    assert emulator.requests == []
    assert emulator.generation_ids() == []


async def test_malformed_json_after_creating(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.inject("create", "malformed_json")
    response = await api.post("/generations", json={"prompt": "x"})
    assert response.status_code == 201
    with pytest.raises(ValueError):  # noqa: PT011 - json's error type is what a client meets
        response.json()
    assert len(emulator.generation_ids()) == 1


async def test_wrong_shape_on_get(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    generation_id = (await api.post("/generations", json={"prompt": "x"})).json()["id"]
    emulator.inject("get", "wrong_shape")
    response = await api.get(f"/generations/{generation_id}")
    assert response.status_code == 200
    assert "state" not in response.json()


async def test_slow_answer_waits_on_the_emulator_clock(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    import anyio

    emulator.inject("get", "slow", delay=20)
    results: list[int] = []

    async def fetch() -> None:
        results.append((await api.get("/generations/x", timeout=60)).status_code)

    async with anyio.create_task_group() as tg:
        tg.start_soon(fetch)
        await anyio.wait_all_tasks_blocked()
        assert results == []  # still waiting
        emulator.clock.advance(19)
        await anyio.wait_all_tasks_blocked()
        assert results == []
        emulator.clock.advance(1)
    assert results == [404]


async def test_truncated_download_cuts_the_body(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    url = await _completed_url(api, emulator)
    emulator.inject("download", "truncate")
    received = bytearray()
    announced: list[int] = []

    async def stream(storage: httpx2.AsyncClient) -> None:
        async with storage.stream("GET", url) as response:
            announced.append(int(response.headers["Content-Length"]))
            async for chunk in response.aiter_bytes():
                received.extend(chunk)

    async with httpx2.AsyncClient(transport=emulator.transport()) as storage:
        with pytest.raises(httpx2.RemoteProtocolError):
            await stream(storage)
        assert 0 < len(received) < announced[0]
        assert (await storage.get(url)).status_code == 200  # the next try succeeds


async def test_corrupt_download_has_the_right_length_and_wrong_bytes(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    url = await _completed_url(api, emulator)
    good = await emulator.output_bytes(emulator.generation_ids()[0])
    emulator.inject("download", "corrupt")
    async with httpx2.AsyncClient(transport=emulator.transport()) as storage:
        corrupt = (await storage.get(url)).content
    assert len(corrupt) == len(good)
    assert corrupt[:8] == good[:8]  # the magic bytes still say PNG
    assert corrupt != good


async def test_dropped_download_and_storage_status_fault(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    url = await _completed_url(api, emulator)
    emulator.inject("download", "drop")
    emulator.inject("download", "status", status=503)
    async with httpx2.AsyncClient(transport=emulator.transport()) as storage:
        with pytest.raises(httpx2.RemoteProtocolError):
            await storage.get(url)
        assert (await storage.get(url)).status_code == 503


async def test_faults_are_only_for_known_routes_and_kinds(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="unknown route"):
        emulator.inject("delete", "drop")  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match="downloads only"):
        emulator.inject("get", "truncate")


async def test_request_log_records_method_path_body_and_status(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    await api.post("/generations", json={"prompt": "logged", "aspect_ratio": "1:1"}, headers={"X-Request-Id": "r-9"})
    record = emulator.requests[-1]
    assert (record.method, record.path, record.route, record.status) == ("POST", "/v1/generations", "create", 201)
    assert record.body == {"prompt": "logged", "aspect_ratio": "1:1"}
    assert record.request_id == "r-9"
    assert record.generation_id == emulator.generation_ids()[0]
    assert "authorization" not in record.headers


async def test_an_answer_slower_than_the_clients_timeout_times_out_on_the_emulator_clock(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    import anyio

    emulator.inject("get", "slow", delay=120)
    outcome: list[str] = []

    async def fetch() -> None:
        try:
            await api.get("/generations/x", timeout=30)
        except httpx2.ReadTimeout:
            outcome.append("timed out")

    async with anyio.create_task_group() as tg:
        tg.start_soon(fetch)
        await anyio.wait_all_tasks_blocked()
        emulator.clock.advance(29)
        await anyio.wait_all_tasks_blocked()
        assert outcome == []
        emulator.clock.advance(1)
    assert outcome == ["timed out"]
