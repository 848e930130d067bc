"""API failures surface as tool errors with the status, the API's `detail` and the request id (a
fresh one for each attempt); what is safe to send again is sent again, nothing else."""

from __future__ import annotations

import re

import pytest
from mcp import Client
from pydantic import SecretStr

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator

from ..support.samples import KEY
from ..support.servers import error_text, make_server

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

GID = "d290f1ee-6c54-4b01-90e6-d701748f0851"


def request_id_in(text: str) -> str:
    match = re.search(r"request id ([0-9a-f-]{36})", text)
    assert match, text
    return match.group(1)


async def test_400_from_the_api_carries_detail_and_request_id(client: Client, emulator: Emulator) -> None:
    emulator.inject("create", "status", status=400, detail="Unknown model: uni-1")
    text = error_text(await client.call_tool("generate_image", {"prompt": "x"}))
    assert "Luma API error 400: Unknown model: uni-1" in text
    assert request_id_in(text) == emulator.requests_to("create")[0].request_id


async def test_401_says_to_check_the_key(settings: Settings, emulator: Emulator) -> None:
    emulator.set_key("luma-api-revoked", "revoked")
    server = make_server(settings.model_copy(update={"api_key": SecretStr("luma-api-revoked")}), emulator)
    async with Client(server) as client:
        text = error_text(await client.call_tool("generate_image", {"prompt": "x"}))
    assert "Luma API error 401: API key has been revoked" in text
    assert "LUMA_AGENTS_API_KEY" in text
    assert request_id_in(text)


@pytest.mark.parametrize(
    "key", ["luma-api-test-key\u2026", "\u201cluma-api-test-key\u201d"], ids=["ellipsis", "quotes"]
)
async def test_a_key_pasted_with_a_non_ascii_character_is_a_clean_error(
    settings: Settings, emulator: Emulator, key: str
) -> None:
    # Printable, so it passed the check, and then failed inside httpx encoding the header: the
    # client saw only "Error executing tool generate_image".
    server = make_server(settings.model_copy(update={"api_key": SecretStr(key)}), emulator)
    async with Client(server) as client:
        text = error_text(await client.call_tool("generate_image", {"prompt": "x"}))
    assert "The Luma Agents API key contains a character that cannot be in an API key" in text
    assert "LUMA_AGENTS_API_KEY" in text
    assert "luma-api-test-key" not in text
    assert emulator.requests == []


async def test_402_says_nothing_was_charged(client: Client, emulator: Emulator) -> None:
    emulator.set_key(KEY, credits_usd=0)
    text = error_text(await client.call_tool("generate_image", {"prompt": "x"}))
    assert "Luma API error 402: Insufficient credits. Please add credits to continue." in text
    assert "nothing was charged" in text


async def test_404_for_an_unknown_generation(client: Client, emulator: Emulator) -> None:
    text = error_text(await client.call_tool("get_generation", {"generation_id": GID}))
    assert "Luma API error 404: Generation not found" in text
    assert request_id_in(text) == emulator.requests_to("get")[0].request_id


async def test_a_429_longer_than_the_budget_is_reported_with_when_and_why(client: Client, emulator: Emulator) -> None:
    emulator.inject("create", "status", status=429, retry_after=50)
    text = error_text(await client.call_tool("generate_image", {"prompt": "x"}))
    assert "Luma API error 429: Rate limit exceeded" in text
    assert "Nothing was queued or charged" in text
    assert "Too many requests in the last minute" in text
    assert "Try again in 50 s" in text
    assert len(emulator.requests_to("create")) == 1


async def test_a_concurrency_429_says_to_wait_for_running_jobs(client: Client, emulator: Emulator) -> None:
    emulator.configure(concurrency=1, latency=300)
    await client.call_tool("generate_image", {"prompt": "first"})  # still running when the next comes
    text = error_text(await client.call_tool("generate_image", {"prompt": "second"}))
    assert "Too many concurrent jobs" in text
    assert "wait for one to finish (wait_for_generation)" in text
    assert "Try again in 60 s" in text


async def test_the_minute_limit_is_waited_out_when_the_budget_allows(client: Client, emulator: Emulator) -> None:
    emulator.configure(rpm=1)
    await client.call_tool("generate_image", {"prompt": "first"})  # ~32 s: the window frees 28 s later
    result = await client.call_tool("generate_image", {"prompt": "second"})
    assert not result.is_error
    assert [r.status for r in emulator.requests_to("create")] == [201, 429, 201]


async def test_429_on_create_with_a_short_retry_after_is_retried(client: Client, emulator: Emulator) -> None:
    emulator.inject("create", "status", status=429, retry_after=2)
    result = await client.call_tool("generate_image", {"prompt": "x"})
    assert not result.is_error
    creates = emulator.requests_to("create")
    assert [r.status for r in creates] == [429, 201]
    assert creates[1].at - creates[0].at >= 2  # Retry-After honoured
    assert len(emulator.generation_ids()) == 1


async def test_502_on_create_is_not_retried_and_reported(client: Client, emulator: Emulator) -> None:
    emulator.inject("create", "status", status=502, created=True)  # queued, then the 502: it happens
    text = error_text(await client.call_tool("generate_image", {"prompt": "x"}))
    assert "answered 502 (Upstream service unavailable)" in text
    assert "costs one image at most" in text
    assert request_id_in(text) == emulator.requests_to("create")[0].request_id
    assert len(emulator.requests_to("create")) == 1  # a POST whose outcome is unclear is never repeated


async def test_a_502_to_a_create_leads_with_what_is_known_and_the_safe_step_then_the_risk(
    client: Client, emulator: Emulator
) -> None:
    emulator.inject("create", "status", status=502)
    text = error_text(await client.call_tool("generate_image", {"prompt": "x"}))
    text = text.removeprefix("Error executing tool generate_image: ")
    request_id = emulator.requests_to("create")[0].request_id
    assert text == (
        f"The Luma API answered 502 (Upstream service unavailable) to this generation request (request id "
        f"{request_id}). It was not sent again, so it costs one image at most (nothing if it was not queued). "
        "Next step: tell the user, and ask whether to try again. To try again, call again with new_variation=true "
        "(an identical call is refused for 10 minutes, in case this one was queued): if this one was queued after "
        "all, that pays for a second image, and the API cannot list generations to check."
    )


async def test_502_while_waiting_is_retried(client: Client, emulator: Emulator) -> None:
    emulator.inject("get", "status", status=502, count=2)
    result = await client.call_tool("generate_image", {"prompt": "x"})
    assert not result.is_error
    assert [r.status for r in emulator.requests_to("get")][:3] == [502, 502, 200]


async def test_a_dropped_create_is_not_sent_twice(client: Client, emulator: Emulator) -> None:
    emulator.inject("create", "drop")  # the job was queued; the answer was lost
    text = error_text(await client.call_tool("generate_image", {"prompt": "x"}))
    assert "costs one image at most (nothing if it was not queued)" in text
    assert "not sent again" in text
    assert len(emulator.requests_to("create")) == 1


async def test_a_refused_connection_is_retried_because_nothing_was_sent(client: Client, emulator: Emulator) -> None:
    emulator.inject("create", "refuse")
    result = await client.call_tool("generate_image", {"prompt": "x"})
    assert not result.is_error
    assert len(emulator.generation_ids()) == 1


async def test_each_attempt_carries_a_fresh_request_id(client: Client, emulator: Emulator) -> None:
    await client.call_tool("generate_image", {"prompt": "a cat"})
    ids = [r.request_id for r in emulator.requests if r.route in ("create", "get")]
    assert len(ids) >= 2
    assert len(set(ids)) == len(ids)
