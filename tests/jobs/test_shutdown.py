"""Once the server begins to shut down, a call that waits ends with a hand-off and no job starts."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp import Client

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.server import build_server

from ..support.clocks import AutojumpTime, until_requested

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


async def test_shutting_down_ends_a_429_pause_without_sending_again(settings: Settings, emulator: Emulator) -> None:
    from luma_mcp.jobs.draining import Draining

    draining = Draining()
    time = AutojumpTime(emulator.clock)  # sleeps wait for the clock, which only this test moves
    server = build_server(settings, transport=emulator.transport(), timekeeper=time, draining=draining)
    emulator.inject("create", "status", status=429, retry_after=10)
    results: list[Any] = []
    async with Client(server) as client:

        async def generate() -> None:
            results.append(await client.call_tool("generate_image", {"prompt": "a fox"}))

        with anyio.fail_after(10):  # a guard against hanging, not a wait: the clock never moves here
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(generate)
                await until_requested(emulator, "create")  # waiting out the 429
                draining.begin()
    [result] = results
    assert result.is_error
    assert "shutting down" in result.content[0].text
    assert len(emulator.requests_to("create")) == 1


async def test_no_job_is_started_once_the_server_is_shutting_down(settings: Settings, emulator: Emulator) -> None:
    from luma_mcp.jobs.draining import Draining

    draining = Draining()
    server = build_server(
        settings, transport=emulator.transport(), timekeeper=AutojumpTime(emulator.clock), draining=draining
    )
    async with Client(server) as client:
        draining.begin()
        result = await client.call_tool("generate_image", {"prompt": "a fox"})
    assert result.is_error
    assert "shutting down" in result.content[0].text  # type: ignore[union-attr]
    assert emulator.requests_to("create") == []
