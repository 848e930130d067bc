"""Money under control, through a real MCP client on the emulator: caps refuse before anything is
sent and name the setting, calls at once cannot pass a cap together, a split reserves its worst case
and settles at the layers it made, a job handed off counts at its reservation until a look settles
it, and a call above the confirmation limit is asked about (or refused with a quote that works)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.server import MCPServer
from mcp_types import ElicitRequestParams, ElicitResult

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.server import build_server
from luma_mcp.workspaces import AppState

from ..support.clocks import AutojumpTime
from ..support.servers import error_text, make_server, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


def creates(emulator: Emulator) -> int:
    return len(emulator.requests_to("create"))


def with_settings(settings: Settings, emulator: Emulator, **changes: Any) -> MCPServer[AppState]:
    return make_server(settings.model_copy(update=changes), emulator)


@pytest.fixture
async def capped(settings: Settings, emulator: Emulator, mode: str) -> AsyncIterator[Client]:
    """A client of a server whose key may spend $0.10 a day: two uni-1 images."""
    server = with_settings(settings, emulator, budget_daily_usd=0.10)
    async with Client(server, mode=mode, raise_exceptions=True) as connected:  # pyright: ignore[reportArgumentType]
        yield connected


async def test_a_call_past_the_daily_cap_is_refused_before_anything_is_sent(capped: Client, emulator: Emulator) -> None:
    for prompt in ("a fox", "a hen"):
        assert not (await capped.call_tool("generate_image", {"prompt": prompt})).is_error
    refused = await capped.call_tool("generate_image", {"prompt": "an owl"})
    message = error_text(refused)
    assert creates(emulator) == 2  # the third never reached the API
    for said in ("$0.0404", "$0.0808", "$0.1000", "LUMA_MCP_BUDGET_DAILY_USD", "Nothing was sent"):
        assert said in message
    spent = structured(await capped.call_tool("get_spending", {}))
    assert (spent["today_usd"], spent["daily_cap_usd"], spent["daily_left_usd"]) == (0.0808, 0.1, 0.0192)
    assert [call["cost_usd"] for call in spent["recent_calls"]] == [0.0404, 0.0404]


async def test_the_running_total_of_a_call_is_what_get_spending_says_after_it(capped: Client) -> None:
    """Shown in each generating call's `_meta.spending`: a new image counts at its settled price, an
    identical call (the same job, free) adds nothing."""
    for prompt in ("a fox", "a fox"):
        made = await capped.call_tool("generate_image", {"prompt": prompt})
        spent = structured(await capped.call_tool("get_spending", {}))
        assert made.meta is not None
        assert made.meta["spending"]["today_usd"] == spent["today_usd"] == 0.0404


async def test_an_identical_call_at_the_cap_gets_its_image_back_free(capped: Client, emulator: Emulator) -> None:
    """A retry of a call (a host timed it out) is handed the job it made, which costs nothing: the
    cap, reached meanwhile, does not refuse it."""
    first = await capped.call_tool("generate_image", {"prompt": "a fox"})
    assert not (await capped.call_tool("generate_image", {"prompt": "a hen"})).is_error  # $0.0808 of $0.10
    again = await capped.call_tool("generate_image", {"prompt": "a fox"})
    assert not again.is_error
    assert structured(again)["reused"]
    assert structured(again)["generation_id"] == structured(first)["generation_id"]
    assert creates(emulator) == 2
    assert structured(await capped.call_tool("get_spending", {}))["today_usd"] == 0.0808


async def test_a_set_reserves_count_times_the_price(capped: Client, emulator: Emulator) -> None:
    refused = await capped.call_tool("generate_image", {"prompt": "foxes", "count": 3})
    assert "$0.1212" in error_text(refused)
    assert creates(emulator) == 0
    made = await capped.call_tool("generate_image", {"prompt": "foxes", "count": 2})
    assert structured(made)["cost_usd"] == pytest.approx(0.0808)


async def test_the_monthly_cap_is_named_when_it_is_the_one_passed(
    settings: Settings, emulator: Emulator, client: Client
) -> None:
    server = with_settings(settings, emulator, budget_monthly_usd=0.05, budget_daily_usd=1.0)
    async with Client(server) as monthly:  # pyright: ignore[reportArgumentType]
        refused = await monthly.call_tool("generate_image", {"prompt": "a fox", "model": "uni-1-max"})
    assert "LUMA_MCP_BUDGET_MONTHLY_USD" in error_text(refused)
    assert creates(emulator) == 0


async def test_twenty_calls_at_once_against_a_cap_for_five_make_five_creates(
    settings: Settings, emulator: Emulator, autojump: AutojumpTime
) -> None:
    capped = settings.model_copy(update={"budget_daily_usd": 5 * 0.0404, "wait_seconds": 0})
    server = build_server(capped, transport=emulator.transport(), timekeeper=autojump, clock=emulator.clock.now)
    refusals: list[str] = []
    async with Client(server) as client:  # pyright: ignore[reportArgumentType]

        async def call(number: int) -> None:
            result = await client.call_tool("generate_image", {"prompt": f"fox number {number}"})
            if result.is_error:
                refusals.append(error_text(result))

        async with anyio.create_task_group() as tasks:
            for number in range(20):
                tasks.start_soon(call, number)
    assert creates(emulator) == 5
    assert len(refusals) == 15
    assert all("LUMA_MCP_BUDGET_DAILY_USD" in refusal for refusal in refusals)


async def test_a_split_reserves_ten_layers_and_settles_at_the_layers_it_made(
    settings: Settings, emulator: Emulator
) -> None:
    server = with_settings(settings, emulator, wait_seconds=0)
    async with Client(server) as client:  # pyright: ignore[reportArgumentType]
        made = structured(await client.call_tool("generate_image", {"prompt": "a fox in a field"}))
        await client.call_tool("wait_for_generation", {"generation_id": made["generation_id"], "timeout_seconds": 60})
        split = structured(
            await client.call_tool("split_into_layers", {"source": {"generation_id": made["generation_id"]}})
        )
        reserved = structured(await client.call_tool("get_spending", {}))
        done = structured(
            await client.call_tool(
                "wait_for_generation", {"generation_id": split["generation_id"], "timeout_seconds": 60}
            )
        )
        settled = structured(await client.call_tool("get_spending", {}))
    assert split["state"] != "completed"
    latest = reserved["recent_calls"][0]
    assert (latest["tool"], latest["cost_usd"], latest["settled"]) == ("split_into_layers", 0.434, False)
    assert reserved["today_usd"] == pytest.approx(0.0404 + 0.434)
    layers = len(done["outputs"])
    assert 1 <= layers < 10
    latest = settled["recent_calls"][0]
    assert (latest["cost_usd"], latest["settled"], latest["cost_is_estimate"]) == (
        pytest.approx(0.0434 * layers),
        True,
        True,
    )
    assert settled["today_usd"] == pytest.approx(0.0404 + 0.0434 * layers)


async def test_a_job_handed_off_counts_at_its_reservation_until_a_look_and_a_refunded_failure_at_nothing(
    settings: Settings, emulator: Emulator
) -> None:
    server = with_settings(settings, emulator, wait_seconds=0)
    async with Client(server) as client:  # pyright: ignore[reportArgumentType]
        emulator.fail_next("content_moderated")
        handed = structured(await client.call_tool("generate_image", {"prompt": "a fox, moderated"}))
        before = structured(await client.call_tool("get_spending", {}))
        emulator.clock.advance(60)
        await client.call_tool("get_generation", {"generation_id": handed["generation_id"]})
        after = structured(await client.call_tool("get_spending", {}))
    assert handed["state"] != "failed"  # handed off before the API said
    assert before["today_usd"] == 0.0404
    assert before["recent_calls"][0]["settled"] is False
    assert after["today_usd"] == 0
    assert after["recent_calls"][0]["settled"] is True


async def test_a_refused_create_releases_its_reservation_and_a_lost_answer_keeps_it(
    capped: Client, emulator: Emulator
) -> None:
    emulator.inject("create", "status", status=429, retry_after=1000)  # refused: nothing queued
    assert (await capped.call_tool("generate_image", {"prompt": "a rate-limited fox"})).is_error
    refused = structured(await capped.call_tool("get_spending", {}))
    emulator.inject("create", "drop", created=True)  # queued, its answer lost: it may be charged
    assert (await capped.call_tool("generate_image", {"prompt": "a lost fox"})).is_error
    lost = structured(await capped.call_tool("get_spending", {}))
    assert (refused["today_usd"], refused["recent_calls"]) == (0, [])
    assert lost["today_usd"] == 0.0404
    assert (lost["recent_calls"][0]["settled"], lost["recent_calls"][0]["generation_ids"]) == (False, [])


async def test_results_carry_the_cost_and_the_running_total(client: Client) -> None:
    first = await client.call_tool("generate_image", {"prompt": "a fox"})
    second = await client.call_tool("generate_image", {"prompt": "a hen", "model": "uni-1-max"})
    assert first.meta is not None
    assert second.meta is not None
    assert second.meta["cost"]["usd"] == 0.1
    assert second.meta["spending"] == {
        "today_usd": 0.1404,
        "month_usd": 0.1404,
        "daily_cap_usd": None,
        "monthly_cap_usd": None,
    }
    table = structured(await client.call_tool("get_spending", {}))
    assert table["prices"]["uni-1/image"] == 0.0404
    assert table["price_table_version"]


# ---------------------------------------------------------------------- confirmation


class Answers:
    """A client's elicitation callback answering each question with `action`; what it was asked."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.asked: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params.message)
        content = {"spend": True} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)  # pyright: ignore[reportArgumentType]


@pytest.fixture
def asking(settings: Settings, emulator: Emulator) -> MCPServer[AppState]:
    """A server that asks before any call above $0.05."""
    return with_settings(settings, emulator, confirm_above_usd=0.05)


@pytest.mark.parametrize("action", ["accept", "decline", "cancel"])
async def test_a_client_that_can_answer_is_asked_before_a_big_spend(
    asking: MCPServer[AppState], emulator: Emulator, mode: str, action: str
) -> None:
    answers = Answers(action)
    async with Client(asking, mode=mode, elicitation_callback=answers) as client:  # pyright: ignore[reportArgumentType]
        small = await client.call_tool("generate_image", {"prompt": "a small fox"})
        big = await client.call_tool("generate_image", {"prompt": "two foxes", "count": 2})
    assert not small.is_error
    assert len(answers.asked) == 1  # only the big one
    assert "$0.0808" in answers.asked[0]
    assert "2 images with uni-1" in answers.asked[0]
    if action == "accept":
        assert not big.is_error
        assert creates(emulator) == 3
    else:
        assert "nothing was sent" in error_text(big)
        assert creates(emulator) == 1


async def test_a_call_past_the_cap_is_refused_for_it_before_the_user_is_asked(
    settings: Settings, emulator: Emulator
) -> None:
    answers = Answers("accept")
    server = with_settings(settings, emulator, confirm_above_usd=0.05, budget_daily_usd=0.08)
    async with Client(server, elicitation_callback=answers) as client:  # pyright: ignore[reportArgumentType]
        refused = await client.call_tool("generate_image", {"prompt": "a fox", "model": "uni-1-max"})
    assert "LUMA_MCP_BUDGET_DAILY_USD" in error_text(refused)
    assert answers.asked == []  # never asked to approve what the cap refuses anyway
    assert creates(emulator) == 0


async def test_a_client_that_cannot_answer_gets_the_quote_which_then_confirms_the_call(
    asking: MCPServer[AppState], emulator: Emulator, mode: str
) -> None:
    async with Client(asking, mode=mode) as client:  # pyright: ignore[reportArgumentType]
        refused = await client.call_tool("generate_image", {"prompt": "a fox", "model": "uni-1-max"})
        wrong = await client.call_tool(
            "generate_image", {"prompt": "a fox", "model": "uni-1-max", "confirm_spend_usd": 0.0404}
        )
        confirmed = await client.call_tool(
            "generate_image", {"prompt": "a fox", "model": "uni-1-max", "confirm_spend_usd": 0.1}
        )
    message = error_text(refused)
    assert "confirm_spend_usd=0.1 " in message
    assert "LUMA_MCP_CONFIRM_ABOVE_USD" in message
    assert "does not match" in error_text(wrong)
    assert not confirmed.is_error
    assert creates(emulator) == 1
