"""A generating call keeps to its budget from the start, and a cancelled call stops at once."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client

from luma_mcp.api.client import GET_GRACE
from luma_mcp.config import Settings
from luma_mcp.emulator import Clock, Emulator
from luma_mcp.server import build_server

from ..support.clocks import AutojumpTime, VirtualTime, cancelled_once_requested
from ..support.samples import b64, png_bytes
from ..support.servers import error_text, make_server, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


async def test_rate_limit_waits_count_against_the_calls_budget(client: Client, emulator: Emulator) -> None:
    emulator.configure(latency=100)
    emulator.inject("create", "status", status=429, retry_after=15, count=2)
    started = emulator.clock.now()
    result = await client.call_tool("generate_image", {"prompt": "a fox"})
    assert not result.is_error
    assert structured(result)["state"] == "queued"  # created at 30 s (10 s queued), handed off at 35 s
    assert emulator.clock.now() - started <= 35 + GET_GRACE
    assert len(emulator.generation_ids()) == 1


async def test_a_rate_limit_that_outlasts_the_budget_is_reported(client: Client, emulator: Emulator) -> None:
    emulator.inject("create", "status", status=429, retry_after=15, count=3)
    started = emulator.clock.now()
    text = error_text(await client.call_tool("generate_image", {"prompt": "a fox"}))
    assert "Rate limit exceeded" in text
    assert "Try again in 15 s" in text
    assert emulator.clock.now() - started <= 35
    assert emulator.generation_ids() == []


async def test_losing_the_api_while_waiting_hands_the_job_off_with_its_id(client: Client, emulator: Emulator) -> None:
    emulator.inject("get", "status", status=503, count=50)
    result = await client.call_tool("generate_image", {"prompt": "a fox"})
    assert not result.is_error  # the job exists and is paid for: an error here would lose its id
    data = structured(result)
    assert data["generation_id"] == emulator.generation_ids()[0]
    assert "stopped answering" in data["warnings"][0]
    assert "wait_for_generation" in data["next_step"]


class BlockingTime(VirtualTime):
    """Virtual time whose `block_on`-th sleep never ends, so a test can cancel the call there."""

    def __init__(self, clock: Clock, block_on: int) -> None:
        super().__init__(clock)
        self.sleeps = 0
        self.block_on = block_on
        self.blocked = anyio.Event()
        self.cancelled = anyio.Event()

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        if self.sleeps != self.block_on:
            await super().sleep(seconds)
            return
        self.blocked.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            self.cancelled.set()
            raise


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_cancelled_call_stops_polling_and_the_job_can_be_picked_up_later(
    settings: Settings, emulator: Emulator, mode: str
) -> None:
    time = BlockingTime(emulator.clock, block_on=3)
    server = build_server(settings, transport=emulator.transport(), timekeeper=time)
    async with Client(server, mode=mode) as client:  # pyright: ignore[reportArgumentType]
        scope = anyio.CancelScope()
        gets_at_cancel = -1

        async def call() -> None:
            with scope:
                await client.call_tool("generate_image", {"prompt": "a fox"})

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(call)
            await time.blocked.wait()
            gets_at_cancel = len(emulator.requests_to("get"))
            scope.cancel()
        with anyio.fail_after(5):
            await time.cancelled.wait()  # the server's handler was cancelled, not left running
        emulator.clock.advance(120)
        await anyio.wait_all_tasks_blocked()
        assert len(emulator.requests_to("get")) == gets_at_cancel  # no GET after the cancel
        [generation_id] = emulator.generation_ids()
        picked_up = await client.call_tool("get_generation", {"generation_id": generation_id})
    assert structured(picked_up)["state"] == "completed"
    assert len(emulator.requests_to("create")) == 1


async def test_make_server_helper_still_uses_virtual_time(settings: Settings, emulator: Emulator) -> None:
    """The server `make_server` builds waits by moving the emulator's clock: a job of 20 s finishes
    within the call, and the clock has moved by at least those 20 s. Waiting in real time instead,
    the clock would stand still, the job would never finish and the guard would end the call."""
    emulator.configure(latency=20)
    before = emulator.clock.now()
    with anyio.fail_after(10):  # a guard against hanging, not a wait: nothing here waits in real time
        async with Client(make_server(settings, emulator)) as client:
            result = await client.call_tool("generate_image", {"prompt": "a fox"})
    assert structured(result)["state"] == "completed"
    assert emulator.clock.now() - before >= 20


async def test_slow_uploads_share_the_calls_budget_instead_of_each_taking_its_own(
    settings: Settings, emulator: Emulator
) -> None:
    time = AutojumpTime(emulator.clock)
    images = [{"data": b64(png_bytes(color=(i * 40, 0, 0))), "media_type": "image/png"} for i in range(3)]
    emulator.inject("upload", "slow", delay=600, count=50)  # storage stalls every upload
    server = build_server(
        settings.model_copy(update={"upload_threshold_mb": 0}), transport=emulator.transport(), timekeeper=time
    )
    text, elapsed = "", float("inf")  # the task group's cancel could in principle skip the assignments
    async with anyio.create_task_group() as tasks, Client(server) as client:
        tasks.start_soon(time.drive)
        started = emulator.clock.now()
        text = error_text(await client.call_tool("generate_image", {"prompt": "a fox", "image_ref": images}))
        elapsed = emulator.clock.now() - started
        tasks.cancel_scope.cancel()
    assert "upload" in text
    assert elapsed <= 35 + GET_GRACE  # three uploads of 30 s each would have taken 90 s and more
    assert emulator.generation_ids() == []  # nothing was created, nothing paid


async def test_a_call_cancelled_while_it_waits_out_a_429_sends_nothing_more(
    settings: Settings, emulator: Emulator
) -> None:
    time = AutojumpTime(emulator.clock)  # sleeps wait for the clock, which only this test moves
    server = build_server(settings, transport=emulator.transport(), timekeeper=time)
    emulator.inject("create", "status", status=429, retry_after=10)
    async with Client(server) as client:
        # The 429 came back: the client waits 10 s to resend, and the user presses stop meanwhile.
        await cancelled_once_requested(client, "generate_image", {"prompt": "a fox"}, emulator, "create")
        emulator.clock.advance(60)
        await anyio.wait_all_tasks_blocked()
    assert len(emulator.requests_to("create")) == 1
    assert emulator.generation_ids() == []  # nothing queued, nothing charged
