"""count: several generations from one call, made in parallel, never collapsed into one job, waited
on within one budget, returned together, and handed off together."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from mcp import Client
from mcp.server import MCPServer

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.server import build_server
from luma_mcp.workspaces import AppState

from ..support.clocks import AutojumpTime
from ..support.samples import KEY, b64, png_bytes
from ..support.servers import assert_fits_the_host, error_text, inline_images, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

SOURCE = {"data": b64(png_bytes((80, 40))), "media_type": "image/png"}


@pytest.fixture
def server(settings: Settings, emulator: Emulator, autojump: AutojumpTime) -> MCPServer[AppState]:
    """Members of a set wait side by side: the clock jumps when all of them wait."""
    return build_server(settings, transport=emulator.transport(), timekeeper=autojump)


async def test_count_4_makes_four_separate_images_in_one_result(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool("generate_image", {"prompt": "a lighthouse at dusk", "count": 4})
    data = structured(result)
    assert len(emulator.requests_to("create")) == 4  # identical members never collapse into one job
    members = data["generations"]
    assert len({m["generation_id"] for m in members}) == 4
    assert data["state"] == "completed"
    paths = [Path(m["outputs"][0]["path"]) for m in members]
    assert len({p.read_bytes() for p in paths}) == 4  # four different images, four files
    for member, path in zip(members, paths, strict=True):
        assert path.read_bytes() == await emulator.output_bytes(member["generation_id"])
    assert data["cost_usd"] == pytest.approx(4 * 0.0404)
    assert result.meta is not None
    assert {k: result.meta["cost"][k] for k in ("usd", "model", "provider")} == {
        "usd": pytest.approx(0.1616),
        "model": "uni-1",
        "provider": "luma",
    }
    assert [part["final"] for part in result.meta["cost"]["generations"]] == [True] * 4


async def test_an_identical_retried_call_gets_the_whole_set_back_and_pays_nothing(
    client: Client, emulator: Emulator
) -> None:
    first = structured(await client.call_tool("generate_image", {"prompt": "a lighthouse", "count": 3}))
    again = await client.call_tool("generate_image", {"prompt": "a lighthouse", "count": 3})
    assert len(emulator.requests_to("create")) == 3  # the retry sent none
    ids = [m["generation_id"] for m in structured(again)["generations"]]
    assert ids == [m["generation_id"] for m in first["generations"]]
    assert structured(again)["cost_usd"] == 0
    assert again.meta is not None
    assert again.meta["cost"]["usd"] == 0
    more = structured(
        await client.call_tool("generate_image", {"prompt": "a lighthouse", "count": 3, "new_variation": True})
    )
    assert len(emulator.requests_to("create")) == 6
    assert not {m["generation_id"] for m in more["generations"]} & set(ids)


async def test_a_rate_limit_in_the_middle_of_a_set_keeps_what_was_made_and_says_what_was_not(
    client: Client, emulator: Emulator
) -> None:
    emulator.configure(rpm=2)  # the third and fourth are refused for a minute: longer than the call
    result = await client.call_tool("generate_image", {"prompt": "a lighthouse", "count": 4})
    data = structured(result)
    assert not result.is_error
    assert len(data["generations"]) == 2
    assert all(m["state"] == "completed" for m in data["generations"])
    assert len(data["warnings"]) == 2
    assert all("of 4" in w and "429" in w and "Nothing was queued or charged" in w for w in data["warnings"])
    assert data["cost_usd"] == pytest.approx(2 * 0.0404)
    assert [r.status for r in emulator.requests_to("create")].count(201) == 2


async def test_a_short_rate_limit_inside_a_set_is_waited_out(client: Client, emulator: Emulator) -> None:
    emulator.inject("create", "status", status=429, retry_after=3)
    data = structured(await client.call_tool("generate_image", {"prompt": "a lighthouse", "count": 4}))
    assert len(data["generations"]) == 4
    assert data["warnings"] == []
    assert [r.status for r in emulator.requests_to("create")].count(201) == 4


async def test_a_set_not_done_in_time_is_handed_off_with_the_ids_to_wait_for_together(
    server: MCPServer[AppState], emulator: Emulator
) -> None:
    emulator.script_next(2, latency=10)
    emulator.script_next(2, latency=120)
    async with Client(server) as client:
        handed = structured(await client.call_tool("generate_image", {"prompt": "a lighthouse", "count": 4}))
        done = [m["generation_id"] for m in handed["generations"] if m["state"] == "completed"]
        pending = [m["generation_id"] for m in handed["generations"] if m["state"] != "completed"]
        assert (len(done), len(pending)) == (2, 2)
        assert handed["state"] == "processing"
        assert all(gid in handed["next_step"] for gid in pending + done)
        assert "wait_for_generation with generation_ids" in handed["next_step"]
        waited = structured(
            await client.call_tool("wait_for_generation", {"generation_ids": pending, "timeout_seconds": 120})
        )
    assert waited["state"] == "completed"
    assert [m["generation_id"] for m in waited["generations"]] == pending
    assert all(Path(m["outputs"][0]["path"]).is_file() for m in waited["generations"])
    assert len(emulator.requests_to("create")) == 4


async def test_waiting_for_several_names_one_that_cannot_be_found_and_returns_the_rest(
    client: Client, emulator: Emulator
) -> None:
    made = structured(await client.call_tool("generate_image", {"prompt": "a lighthouse"}))
    unknown = "00000000-0000-4000-8000-000000000000"
    waited = await client.call_tool("wait_for_generation", {"generation_ids": [made["generation_id"], unknown]})
    data = structured(waited)
    assert [m["generation_id"] for m in data["generations"]] == [made["generation_id"]]
    assert any(unknown in w and "404" in w for w in data["warnings"])


async def test_progress_of_a_set_only_rises_and_never_passes_its_total(
    server: MCPServer[AppState], emulator: Emulator
) -> None:
    emulator.script_next(1, latency=5)
    emulator.script_next(1, latency=25)
    seen: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    async with Client(server) as client:
        await client.call_tool("generate_image", {"prompt": "a lighthouse", "count": 2}, progress_callback=on_progress)
    values = [value for value, _ in seen]
    assert values == sorted(values)
    assert len(set(values)) == len(values)
    assert all(total is not None and value <= total + 1e-9 for value, total in seen)
    assert not math.isnan(values[-1])


async def test_a_lost_answer_in_a_set_is_counted_and_its_advice_buys_one_image_not_the_set(
    client: Client, emulator: Emulator
) -> None:
    emulator.inject("create", "drop", created=True)  # one create is queued, its answer lost
    first = await client.call_tool("generate_image", {"prompt": "a lighthouse", "count": 4})
    data = structured(first)
    assert len(data["generations"]) == 3
    assert emulator.spent_usd(KEY) == pytest.approx(4 * 0.0404)  # the lost one was charged
    assert data["cost_usd"] == pytest.approx(4 * 0.0404)  # and the result counts it, as an estimate
    assert data["cost_is_estimate"] is True
    [lost] = data["warnings"]
    assert "costs one image at most" in lost
    assert "count=1 and new_variation=true" in lost
    assert first.meta is not None
    assert [part["final"] for part in first.meta["cost"]["generations"]] == [True, True, True, False]
    again = structured(await client.call_tool("generate_image", {"prompt": "a lighthouse", "count": 4}))
    assert len(emulator.requests_to("create")) == 4  # the three are reused, the lost one is not resent
    assert len(again["generations"]) == 3
    assert "count=1 and new_variation=true" in again["warnings"][0]
    await client.call_tool("generate_image", {"prompt": "a lighthouse", "count": 1, "new_variation": True})
    assert len(emulator.requests_to("create")) == 5  # following the advice buys one image


async def test_a_set_of_which_none_could_be_made_names_every_cause_the_lost_answer_first(
    client: Client, emulator: Emulator
) -> None:
    emulator.inject("create", "status", status=429, retry_after=100)
    emulator.inject("create", "drop", created=True)
    emulator.inject("create", "status", status=429, retry_after=100, count=10)
    refused = await client.call_tool("generate_image", {"prompt": "a lighthouse", "count": 3})
    text = error_text(refused)
    lines = text[text.index("None of the 3 images could be made:") :].splitlines()
    assert "costs one image at most" in lines[1]  # what may be charged comes first
    assert sum("API error 429" in line for line in lines) == 2  # (a request id may hold "429" too)


async def test_a_set_whose_images_could_not_be_saved_says_to_look_again(client: Client, emulator: Emulator) -> None:
    emulator.script_next(2, latency=34)
    emulator.inject("download", "slow", delay=30, count=2)
    data = structured(await client.call_tool("generate_image", {"prompt": "a lighthouse", "count": 2}))
    assert all(m["state"] == "completed" for m in data["generations"])
    unsaved = [m["generation_id"] for m in data["generations"] if m["outputs"][0]["path"] is None]
    assert unsaved
    assert "get_generation" in data["next_step"]
    assert all(gid in data["next_step"] for gid in unsaved)


async def test_a_set_keeps_each_image_s_number_when_one_is_missing(client: Client, emulator: Emulator) -> None:
    emulator.inject("create", "status", status=429, retry_after=100)  # the first create to arrive
    result = await client.call_tool("generate_image", {"prompt": "a lighthouse", "count": 2})
    text = result.content[0].text  # type: ignore[union-attr]
    assert text.startswith("2 images asked: 1 made, 1 completed.")
    [failure] = structured(result)["warnings"]
    number = int(failure.split(" of ")[0].removeprefix("Image "))
    assert f"#{3 - number} Generation" in text  # the one made keeps its own place


async def test_waiting_for_a_split_and_an_image_shows_the_split_as_one_sheet(
    client: Client, emulator: Emulator
) -> None:
    emulator.script_next(1, latency=100, layers=6)
    emulator.script_next(1, latency=100)
    split = structured(await client.call_tool("split_into_layers", {"source": SOURCE}))
    image = structured(await client.call_tool("generate_image", {"prompt": "a kite"}))
    ids = [split["generation_id"], image["generation_id"]]
    waited = await client.call_tool("wait_for_generation", {"generation_ids": ids, "timeout_seconds": 200})
    assert [len(m["outputs"]) for m in structured(waited)["generations"]] == [6, 1]
    assert len(inline_images(waited)) == 2  # the split's sheet, and the image
    assert_fits_the_host(waited, "auto")
