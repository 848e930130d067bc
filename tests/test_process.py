"""The process's bounds under load: many calls at once share a few worker threads, and on glibc
those threads share two malloc arenas (the memory figures are in `benchmarks/calls.py`)."""

from __future__ import annotations

import os
import sys
import threading

import anyio
import pytest
from mcp import Client

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.media.image_threads import in_image_thread
from luma_mcp.process import WORKER_THREADS, bound_allocator
from luma_mcp.server import build_server

from .support.clocks import AutojumpTime
from .support.servers import structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


async def test_many_downloads_at_once_are_written_by_a_few_threads(
    settings: Settings, emulator: Emulator, autojump: AutojumpTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from luma_mcp.media import outputs

    emulator.configure(long_edge=256, rpm=10_000, concurrency=10_000)
    real_write = outputs._PartialFile.write  # pyright: ignore[reportPrivateUsage]
    lock, release = threading.Lock(), threading.Event()
    writing = most = 0

    def held_write(self: outputs._PartialFile, blocks: list[bytes]) -> None:  # pyright: ignore[reportPrivateUsage]
        nonlocal writing, most
        with lock:
            writing += 1
            most = max(most, writing)
        release.wait(timeout=30)  # every write stays in its thread until the bound has shown
        try:
            real_write(self, blocks)
        finally:
            with lock:
                writing -= 1

    monkeypatch.setattr(outputs._PartialFile, "write", held_write)  # pyright: ignore[reportPrivateUsage]
    states: list[str] = []
    async with Client(build_server(settings, transport=emulator.transport(), timekeeper=autojump)) as client:

        async def one(number: int) -> None:
            result = await client.call_tool("generate_image", {"prompt": f"fox {number}", "output_format": "png"})
            states.append(structured(result)["state"])

        async with anyio.create_task_group() as calls:
            for number in range(3 * WORKER_THREADS):
                calls.start_soon(one, number)
            limiter = anyio.to_thread.current_default_thread_limiter()
            while limiter.statistics().tasks_waiting == 0:  # until writes queue for a thread
                await anyio.wait_all_tasks_blocked()
            release.set()
    assert states == ["completed"] * 3 * WORKER_THREADS
    assert most == WORKER_THREADS  # anyio's default would run 40 at once, each thread with its own arena


async def test_image_work_still_runs_when_every_general_worker_is_busy(settings: Settings, emulator: Emulator) -> None:
    # Image threads have their own limiter, but share anyio's pool: none waits on the other's bound.
    async with Client(build_server(settings, transport=emulator.transport())):
        release = threading.Event()
        async with anyio.create_task_group() as busy:
            for _ in range(WORKER_THREADS):
                busy.start_soon(anyio.to_thread.run_sync, release.wait)
            await anyio.wait_all_tasks_blocked()
            assert await in_image_thread(sum, [1, 2, 3]) == 6
            release.set()


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None, reason="glibc's own knobs"
)
def test_on_glibc_the_allocator_takes_its_bounds() -> None:
    assert bound_allocator()
    assert bound_allocator()  # once per process: asking again changes nothing
