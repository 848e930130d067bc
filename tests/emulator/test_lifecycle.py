"""queued → processing → completed | failed, on the emulator's clock, and what each state shows."""

from __future__ import annotations

import math

import httpx2
import pytest

from luma_mcp.emulator import Emulator

from ..support.samples import KEY

pytestmark = pytest.mark.anyio


async def _create(api: httpx2.AsyncClient, **body: object) -> str:
    response = await api.post("/generations", json={"prompt": "a lighthouse", **body})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _state(api: httpx2.AsyncClient, generation_id: str) -> dict[str, object]:
    response = await api.get(f"/generations/{generation_id}")
    assert response.status_code == 200
    return response.json()


async def test_a_generation_moves_through_its_states_as_the_clock_advances(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    generation_id = await _create(api)
    assert (await _state(api, generation_id))["state"] == "queued"
    emulator.clock.advance(3.1)  # 10% of the default 30 s latency is spent queued
    assert (await _state(api, generation_id))["state"] == "processing"
    emulator.clock.advance(26)
    assert (await _state(api, generation_id))["output"] == []
    emulator.clock.advance(1)
    done = await _state(api, generation_id)
    assert done["state"] == "completed"
    assert len(done["output"]) == 1  # type: ignore[arg-type]


async def test_web_search_adds_a_few_seconds(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    plain, searched = await _create(api), await _create(api, web_search=True)
    emulator.clock.advance(30)
    assert (await _state(api, plain))["state"] == "completed"
    assert (await _state(api, searched))["state"] == "processing"
    emulator.clock.advance(4)
    assert (await _state(api, searched))["state"] == "completed"


async def test_latency_is_configurable(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.configure(latency=2)
    generation_id = await _create(api)
    emulator.clock.advance(2)
    assert (await _state(api, generation_id))["state"] == "completed"


async def test_a_scripted_generation_that_never_finishes_stays_processing(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    emulator.script_next(latency=math.inf)
    generation_id = await _create(api)
    emulator.clock.advance(10 * 24 * 3600)
    assert (await _state(api, generation_id))["state"] == "processing"


@pytest.mark.parametrize(
    "code",
    [
        "content_moderated",
        "generation_failed",
        "budget_exhausted",
        "output_not_found",
        "image_too_large",
        "unsupported_format",
        "corrupt_input",
        "invalid_request",
        "rate_limited",
    ],
)
async def test_every_failure_code_can_be_scripted(api: httpx2.AsyncClient, emulator: Emulator, code: str) -> None:
    emulator.fail_next(code)
    failing, fine = await _create(api), await _create(api)
    emulator.clock.advance(29)
    assert (await _state(api, failing))["failure_code"] is None  # not yet: it fails when it would finish
    emulator.clock.advance(1)
    failed = await _state(api, failing)
    assert failed["state"] == "failed"
    assert failed["failure_code"] == code
    assert isinstance(failed["failure_reason"], str)
    assert failed["failure_reason"]
    assert failed["output"] == []
    assert (await _state(api, fine))["state"] == "completed"


async def test_fail_next_takes_a_count_and_a_reason(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.fail_next("content_moderated", 2, reason="No foxes allowed")
    ids = [await _create(api) for _ in range(3)]
    emulator.clock.advance(30)
    states = [await _state(api, i) for i in ids]
    assert [s["state"] for s in states] == ["failed", "failed", "completed"]
    assert states[0]["failure_reason"] == "No foxes allowed"


async def test_unknown_failure_code_cannot_be_scripted(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="unknown failure code"):
        emulator.fail_next("out_of_coffee")


async def test_moderated_and_failed_jobs_are_refunded_others_are_charged(
    api: httpx2.AsyncClient, emulator: Emulator
) -> None:
    await _create(api)  # 0.0404
    emulator.fail_next("content_moderated")
    await _create(api)  # refunded once failed
    emulator.fail_next("invalid_request")
    await _create(api, model="uni-1-max")  # 0.1000, not refunded [old]
    assert emulator.spent_usd(KEY) == pytest.approx(0.0404 * 2 + 0.1)
    emulator.clock.advance(30)
    assert emulator.spent_usd(KEY) == pytest.approx(0.0404 + 0.1)


async def test_an_empty_balance_answers_402_and_queues_nothing(api: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.set_key(KEY, credits_usd=0.05)
    await _create(api)
    response = await api.post("/generations", json={"prompt": "second"})
    assert (response.status_code, response.json()) == (
        402,
        {"detail": "Insufficient credits. Please add credits to continue."},
    )
    assert len(emulator.generation_ids()) == 1


@pytest.mark.parametrize("generation_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
async def test_unknown_generation_is_not_found(api: httpx2.AsyncClient, generation_id: str) -> None:
    response = await api.get(f"/generations/{generation_id}")
    assert (response.status_code, response.json()) == (404, {"detail": "Generation not found"})


async def test_another_keys_generation_is_not_found(api: httpx2.AsyncClient) -> None:
    generation_id = await _create(api)
    response = await api.get(f"/generations/{generation_id}", headers={"Authorization": "Bearer luma-api-other"})
    assert (response.status_code, response.json()) == (404, {"detail": "Generation not found"})
