"""Each paid action the view offers, sent as the view sends it: the offer's own arguments and its
own price as `confirm_spend_usd`, on a server that asks before any spend. The price on the button
must be the call's quote to the micro-dollar, or the user's yes is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server import MCPServer

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.jobs.pricing import price_of
from luma_mcp.workspaces import AppState

from ..support.samples import KEY
from ..support.servers import shows_apps, structured, text

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

PROMPT = "make it dusk"
"""What the user types where an offer needs a prompt."""


@pytest.fixture
def settings(emulator: Emulator, output_dir: Path) -> Settings:
    """Every paid call asks first."""
    return Settings(api_key=KEY, base_url=emulator.base_url, output_dir=output_dir, confirm_above_usd=0)  # pyright: ignore[reportArgumentType]


@pytest.fixture
async def host(server: MCPServer[AppState], mode: str) -> AsyncIterator[Client]:
    async with Client(server, mode=mode, raise_exceptions=True, extensions=[shows_apps()]) as connected:  # pyright: ignore[reportArgumentType]
        yield connected


async def offers_on(host: Client, generation_id: str) -> dict[str, dict[str, Any]]:
    """The offers the view shows on the first output of a generation, by action."""
    state = structured(await host.call_tool("view_generations", {"generation_ids": [generation_id]}))
    assert state["state"] == "completed", state
    return {offer["action"]: offer for offer in state["offers"][0]["offers"]}


async def accept(host: Client, emulator: Emulator, offer: dict[str, Any]) -> dict[str, Any]:
    """Sends the offer as the view does, once the user said yes to its price: it must be sent."""
    arguments = {**offer["arguments"], "confirm_spend_usd": offer["usd"]}
    if offer["needs_prompt"]:
        arguments["prompt"] = PROMPT
    before = len(emulator.requests_to("create"))
    answer = await host.call_tool(offer["tool"], arguments)
    said = text(answer)
    assert "does not match" not in said, f"{offer['action']} at {offer['usd']}: {said}"
    assert not answer.is_error, said
    assert len(emulator.requests_to("create")) > before  # the emulator received the create(s)
    return structured(answer)


async def a_generation(host: Client) -> str:
    price = price_of("uni-1-max", "image").usd
    made = await host.call_tool(
        "generate_image", {"prompt": "a lighthouse", "model": "uni-1-max", "confirm_spend_usd": price}
    )
    assert not made.is_error, text(made)
    return structured(made)["generation_id"]


@pytest.mark.parametrize("action", ["edit", "more", "split", "reference"])
async def test_each_offer_on_a_generation_is_sent_at_its_own_price(
    host: Client, emulator: Emulator, action: str
) -> None:
    offers = await offers_on(host, await a_generation(host))
    await accept(host, emulator, offers[action])


@pytest.mark.parametrize("action", ["edit", "more", "reference"])
async def test_each_offer_on_a_layer_of_a_split_is_sent_at_its_own_price(
    host: Client, emulator: Emulator, action: str
) -> None:
    split = await accept(host, emulator, (await offers_on(host, await a_generation(host)))["split"])
    offers = await offers_on(host, split["generation_id"])
    assert "split" not in offers  # a layer is not split again
    await accept(host, emulator, offers[action])
