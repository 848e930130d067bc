"""Virtual time for tests: the client's clock is the emulator's, so nothing waits in real time."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
from mcp import Client

from luma_mcp.emulator import Clock, Emulator


class VirtualTime:
    """A `Timekeeper` whose sleeps jump the emulator's clock forward: for one call at a time."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def monotonic(self) -> float:
        return self.clock.now()

    async def sleep(self, seconds: float) -> None:
        await self.clock.skip(seconds)


class AutojumpTime(VirtualTime):
    """A `Timekeeper` for many concurrent waits: a sleeper waits on the emulator's clock, and
    `drive()` jumps time to the earliest wake-up whenever every task is blocked (like trio's
    autojump clock). Run `drive()` in a task beside the code under test."""

    async def sleep(self, seconds: float) -> None:
        await self.clock.sleep(seconds)

    async def drive(self) -> None:
        while True:
            await anyio.wait_all_tasks_blocked()
            wake = self.clock.next_wake()
            if wake is None:
                await anyio.sleep(0.001)  # only threads or I/O pending: let them finish
            else:
                self.clock.advance(max(0.0, wake - self.clock.now()))


async def until_requested(emulator: Emulator, route: str, count: int = 1) -> None:
    """Until the emulator has received `count` requests on `route`, then until every task waits.
    `wait_all_tasks_blocked` alone returns while a call waits on the store (a worker thread, a
    socket to Redis) before its request is even sent."""
    while len(emulator.requests_to(route)) < count:
        await anyio.wait_all_tasks_blocked()
        await anyio.lowlevel.checkpoint()
    await anyio.wait_all_tasks_blocked()


async def cancelled_once_requested(
    client: Client, tool: str, arguments: dict[str, Any], emulator: Emulator, route: str
) -> None:
    """Call `tool`, and cancel the call (a user pressing stop) once the emulator has received its
    request on `route` and every task waits; returns when the cancellation has run its course."""
    call = anyio.CancelScope()

    async def calling() -> None:
        with call:
            await client.call_tool(tool, arguments)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(calling)
        await until_requested(emulator, route)
        call.cancel()
        await anyio.wait_all_tasks_blocked()
