"""Waiting on a job: progress a person can follow, a hand-off when the job outlasts the call,
many calls at once."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import ImageContent, TextContent

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.server import build_server

from ..support.clocks import AutojumpTime
from ..support.servers import blocks, make_server, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


async def test_progress_is_reported_while_waiting(client: Client) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    result = await client.call_tool("generate_image", {"prompt": "a cat"}, progress_callback=on_progress)
    assert not result.is_error
    values = [p for p, _, _ in seen]
    assert len(values) >= 5  # a 30 s job polled every 2 s
    assert values == sorted(values)
    assert len(set(values)) == len(values)
    assert all(total == 35 for _, total, _ in seen)
    assert any("Processing" in (m or "") for _, _, m in seen)


async def test_progress_arrives_at_least_every_5_s_and_reads_well(client: Client, emulator: Emulator) -> None:
    emulator.configure(latency=100)
    seen: list[tuple[float, float, str]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((emulator.clock.now(), progress, message or ""))

    started = emulator.clock.now()
    await client.call_tool("generate_image", {"prompt": "a fox"}, progress_callback=on_progress)
    times = [started] + [at for at, _, _ in seen]
    assert max(b - a for a, b in itertools.pairwise(times)) <= 5
    assert [p for _, p, _ in seen] == sorted({p for _, p, _ in seen})  # strictly increasing
    assert seen[0][2].startswith("Queued as ")
    assert any(message.startswith("Processing · ") and "of up to 35 s" in message for _, _, message in seen)


async def test_a_slow_generation_is_handed_off_then_finished_by_wait(client: Client, emulator: Emulator) -> None:
    emulator.configure(latency=100)
    started = emulator.clock.now()
    handed_off = await client.call_tool("generate_image", {"prompt": "a slow fox"})
    assert not handed_off.is_error  # not ready is not an error
    data = structured(handed_off)
    assert data["state"] == "processing"
    assert data["outputs"] == []
    assert 35 <= data["waited_seconds"] <= 36
    assert emulator.clock.now() - started <= 36  # the call returned within its budget
    assert "wait_for_generation" in data["next_step"]
    assert data["generation_id"] in blocks(handed_off, TextContent)[0].text

    still = structured(await client.call_tool("wait_for_generation", {"generation_id": data["generation_id"]}))
    assert still["state"] == "processing"  # 70 s in
    done = await client.call_tool(
        "wait_for_generation", {"generation_id": data["generation_id"], "timeout_seconds": 60}
    )
    assert structured(done)["state"] == "completed"
    assert blocks(done, ImageContent)
    assert len(emulator.requests_to("create")) == 1  # waiting never submits again


async def test_64_parallel_calls_all_complete_with_their_own_results(
    settings: Settings, emulator: Emulator, autojump: AutojumpTime
) -> None:
    emulator.configure(rpm=1000, concurrency=100)
    server = build_server(settings, transport=emulator.transport(), timekeeper=autojump)
    results: dict[int, dict[str, Any]] = {}
    async with Client(server) as client:

        async def one(i: int) -> None:
            results[i] = structured(await client.call_tool("generate_image", {"prompt": f"fox number {i}"}))

        async with anyio.create_task_group() as calls:
            for i in range(64):
                calls.start_soon(one, i)
    assert len(results) == 64
    assert all(r["state"] == "completed" for r in results.values())
    assert len({r["generation_id"] for r in results.values()}) == 64
    for i, result in results.items():
        assert result["prompt"] == f"fox number {i}"
        path = result["outputs"][0]["path"]
        assert f"fox-number-{i}_" in path
        assert Path(path).read_bytes() == await emulator.output_bytes(result["generation_id"])
    assert len(emulator.requests_to("create")) == 64


@pytest.mark.parametrize(("wait_seconds", "latency"), [(35, 8), (35, 100), (0.05, 0), (0, 0)])
async def test_no_progress_passes_its_total_nor_repeats_a_value(
    settings: Settings, emulator: Emulator, wait_seconds: float, latency: float
) -> None:
    """Each call's progress has one total, its wait; a second identical call (which gets the
    first job back) and a wait that ends on its deadline keep inside it too."""
    emulator.configure(latency=latency)
    server = make_server(settings.model_copy(update={"wait_seconds": wait_seconds}), emulator)
    calls: list[list[tuple[float, float | None]]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        calls[-1].append((progress, total))

    async with Client(server) as client:
        for _ in range(2):
            calls.append([])
            await client.call_tool("generate_image", {"prompt": "a fox"}, progress_callback=on_progress)
        calls.append([])
        waited = {"generation_id": emulator.generation_ids()[0], "timeout_seconds": 30}
        await client.call_tool("wait_for_generation", waited, progress_callback=on_progress)
    assert any(calls)
    for seen in calls:
        assert all(total is not None and progress <= total for progress, total in seen), seen
        assert len({total for _, total in seen}) <= 1, seen  # one total per call
        values = [progress for progress, _ in seen]
        assert values == sorted(set(values)), seen  # each above the last
