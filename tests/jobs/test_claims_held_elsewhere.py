"""Claims another live process holds on the shared store: an identical create it is sending is not
sent a second time, and a job it is saving is not downloaded a second time."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from mcp import Client

from luma_mcp.api import GenerationRequest
from luma_mcp.emulator import Emulator
from luma_mcp.jobs.ledger import CREATE_SECONDS, request_key
from luma_mcp.store.base import SERVER_ACCOUNT, Claim
from luma_mcp.store.location import open_store

from ..support.samples import KEY
from ..support.servers import error_text, structured, text

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

ELSEWHERE = "another-host.invalid:4242:cafe0001"
"""A claim's owner on another host: presumed alive until its claim expires."""


async def hold_elsewhere(output_dir: Path, key: str, claim: Claim) -> None:
    """What another copy of the server on the same store wrote (it is still running)."""
    store = open_store(None, output_dir)
    try:
        assert await store.account(SERVER_ACCOUNT).claim(key, claim) is None
    finally:
        await store.aclose()


async def test_an_identical_create_another_live_process_is_sending_is_not_sent_again(
    client: Client, emulator: Emulator, output_dir: Path
) -> None:
    now = emulator.clock.now()
    claim = Claim("creating", ELSEWHERE, now, now + CREATE_SECONDS)
    await hold_elsewhere(output_dir, request_key(GenerationRequest(prompt="a fox")), claim)
    result = await client.call_tool("generate_image", {"prompt": "a fox"})
    message = error_text(result)
    assert "An identical request is being sent right now by another copy of this server" in message
    assert "nothing was charged" in message
    assert emulator.requests_to("create") == []


async def test_a_job_another_live_process_is_saving_is_not_downloaded_again(
    client: Client, emulator: Emulator, output_dir: Path
) -> None:
    async with httpx2.AsyncClient(transport=emulator.transport(), base_url=emulator.base_url) as api:
        created = await api.post("/generations", json={"prompt": "a fox"}, headers={"Authorization": f"Bearer {KEY}"})
    generation_id = created.json()["id"]
    emulator.clock.advance(60)  # completed
    now = emulator.clock.now()
    claim = Claim("saving", ELSEWHERE, now, now + 600, generation_id)
    await hold_elsewhere(output_dir, f"saving:{generation_id}", claim)
    result = await client.call_tool("get_generation", {"generation_id": generation_id})
    assert structured(result)["state"] == "completed"
    assert "is saving this image right now: call get_generation in a moment for its saved file" in text(result)
    assert emulator.requests_to("download") == []
