"""Requests per minute (sliding 60 s) and concurrent jobs, per key, with the documented headers."""

from __future__ import annotations

import httpx2
import pytest

from luma_mcp.emulator import Emulator

from ..support.samples import KEY

pytestmark = pytest.mark.anyio

OTHER = {"Authorization": "Bearer luma-api-other-key"}


async def _post(api: httpx2.AsyncClient, **kwargs: object) -> httpx2.Response:
    return await api.post("/generations", json={"prompt": "x"}, **kwargs)  # type: ignore[arg-type]


async def test_a_201_carries_the_rate_limit_headers(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    first = await _post(api)
    emulator.clock.advance(10)
    second = await _post(api)
    assert first.headers["X-RateLimit-Limit"] == "30"
    assert (first.headers["X-RateLimit-Remaining"], second.headers["X-RateLimit-Remaining"]) == ("29", "28")
    # The window frees when the oldest request leaves it: 60 s after the first.
    assert int(second.headers["X-RateLimit-Reset"]) == int(emulator.clock.now() - 10 + 60)


async def test_requests_over_the_minute_limit_get_429_with_retry_after(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    emulator.configure(rpm=3, concurrency=100)
    for _ in range(3):
        assert (await _post(api)).status_code == 201
        emulator.clock.advance(5)
    limited = await _post(api)  # at t=15; the oldest request (t=0) leaves at t=60
    assert (limited.status_code, limited.json()) == (429, {"detail": "Rate limit exceeded"})
    assert limited.headers["Retry-After"] == "45"
    assert limited.headers["X-RateLimit-Limit"] == "3"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.headers["X-RateLimit-Reset"]) == int(emulator.clock.now() + 45)
    assert len(emulator.generation_ids()) == 3  # rejected, never queued


async def test_the_window_slides(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.configure(rpm=2, concurrency=100)
    await _post(api)
    emulator.clock.advance(30)
    await _post(api)
    emulator.clock.advance(29)
    assert (await _post(api)).status_code == 429
    emulator.clock.advance(1)  # the first leaves the window
    assert (await _post(api)).status_code == 201
    assert (await _post(api)).status_code == 429


async def test_limits_are_per_key(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.configure(rpm=1)
    assert (await _post(api)).status_code == 201
    assert (await _post(api)).status_code == 429
    assert (await _post(api, headers=OTHER)).status_code == 201


async def test_concurrent_unfinished_jobs_are_capped(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.configure(concurrency=2, rpm=100)
    await _post(api)
    await _post(api)
    limited = await _post(api)
    assert (limited.status_code, limited.json()) == (429, {"detail": "Too many concurrent jobs"})
    assert limited.headers["Retry-After"] == "60"
    assert "X-RateLimit-Limit" not in limited.headers
    emulator.clock.advance(30)  # both finish
    assert (await _post(api)).status_code == 201


async def test_failed_jobs_free_their_slot_too(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.configure(concurrency=1)
    emulator.fail_next("generation_failed")
    await _post(api)
    emulator.clock.advance(30)
    assert (await _post(api)).status_code == 201


async def test_weighted_limits_count_units_and_say_so(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.configure(concurrency=10, weights={"uni-1-max/image_edit": 3})
    source = (await _post(api)).json()["id"]
    emulator.clock.advance(30)
    edit = {"prompt": "e", "model": "uni-1-max", "type": "image_edit", "source": {"generation_id": source}}
    for _ in range(3):
        assert (await api.post("/generations", json=edit)).status_code == 201
    # 9 of 10 units in use
    limited = await api.post("/generations", json=edit)
    assert limited.status_code == 429
    assert limited.json()["detail"] == (
        "Concurrent generation capacity reached (limit=10 weight units; this request needs 3). "
        "Wait for existing jobs to complete."
    )
    assert (await _post(api)).status_code == 201  # one unit still fits


async def test_weighted_requests_use_more_of_the_minute(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.configure(rpm=4, concurrency=100, weights={"uni-1-max/image": 3})
    assert (await api.post("/generations", json={"prompt": "x", "model": "uni-1-max"})).headers[
        "X-RateLimit-Remaining"
    ] == "1"
    assert (await _post(api)).status_code == 201
    assert (await _post(api)).status_code == 429
    assert emulator.spent_usd(KEY) == pytest.approx(0.1 + 0.0404)
