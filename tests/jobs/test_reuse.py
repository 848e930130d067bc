"""No double spend: an identical call gets the job already made, a create whose answer was lost
is not sent again, and a runner forgets its jobs once their windows pass."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.server import build_server

from ..support.clocks import AutojumpTime, until_requested
from ..support.samples import KEY
from ..support.servers import structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


async def test_an_identical_call_returns_the_running_generation_without_a_second_post(
    client: Client, emulator: Emulator
) -> None:
    emulator.configure(latency=100)
    first = structured(await client.call_tool("generate_image", {"prompt": "a fox", "aspect_ratio": "16:9"}))
    assert first["state"] in ("queued", "processing")
    retried = await client.call_tool("generate_image", {"prompt": "a fox", "aspect_ratio": "16:9"})
    again = structured(retried)
    assert again["generation_id"] == first["generation_id"]
    assert again["reused"] is True
    assert "nothing was charged again" in retried.content[0].text  # type: ignore[union-attr]
    assert len(emulator.requests_to("create")) == 1


async def test_an_identical_call_soon_after_returns_the_finished_image(client: Client, emulator: Emulator) -> None:
    first = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    emulator.clock.advance(200)
    again = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    assert (again["generation_id"], again["state"], again["reused"]) == (first["generation_id"], "completed", True)
    assert again["outputs"][0]["path"] == first["outputs"][0]["path"]
    assert len(emulator.requests_to("create")) == 1
    assert len(emulator.requests_to("download")) == 1


async def test_after_the_window_or_on_request_a_new_image_is_made(client: Client, emulator: Emulator) -> None:
    first = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    variation = structured(await client.call_tool("generate_image", {"prompt": "a fox", "new_variation": True}))
    assert variation["generation_id"] != first["generation_id"]
    assert variation["reused"] is False
    emulator.clock.advance(301)  # past LUMA_MCP_DEDUPE_SECONDS (300) after the variation finished
    later = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    assert later["generation_id"] not in (first["generation_id"], variation["generation_id"])
    assert len(emulator.requests_to("create")) == 3


async def test_different_arguments_are_different_requests(client: Client, emulator: Emulator) -> None:
    await client.call_tool("generate_image", {"prompt": "a fox"})
    await client.call_tool("generate_image", {"prompt": "a fox", "model": "uni-1-max"})
    await client.call_tool("generate_image", {"prompt": "a fox", "preview": "none"})  # not part of the request
    assert len(emulator.requests_to("create")) == 2


async def test_a_failed_generation_is_not_reused(client: Client, emulator: Emulator) -> None:
    emulator.fail_next("generation_failed")
    failed = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    retried = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    assert failed["state"] == "failed"
    assert (retried["state"], retried["reused"]) == ("completed", False)
    assert len(emulator.requests_to("create")) == 2


async def test_a_transient_failure_seen_by_a_later_wait_is_made_again_by_the_advised_call(
    client: Client, emulator: Emulator
) -> None:
    emulator.configure(latency=100)  # longer than the call's wait: it hands off
    emulator.fail_next("generation_failed")
    first = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    waited = structured(
        await client.call_tool("wait_for_generation", {"generation_id": first["generation_id"], "timeout_seconds": 120})
    )
    assert (waited["state"], waited["retryable"]) == ("failed", True)
    assert "call generate_image again with the same arguments" in waited["next_step"]
    retried = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    assert retried["generation_id"] != first["generation_id"]
    assert retried["reused"] is False
    assert len(emulator.requests_to("create")) == 2


async def test_the_dedupe_window_runs_from_the_end_a_later_look_saw(client: Client, emulator: Emulator) -> None:
    emulator.configure(latency=100)
    first = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    done = structured(
        await client.call_tool("wait_for_generation", {"generation_id": first["generation_id"], "timeout_seconds": 120})
    )
    assert done["state"] == "completed"
    emulator.clock.advance(200)  # inside the 300 s window: the same image
    soon = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    assert (soon["generation_id"], soon["reused"]) == (first["generation_id"], True)
    emulator.clock.advance(400)  # past it: a new image, as asked
    later = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    assert later["reused"] is False
    assert len(emulator.requests_to("create")) == 2


async def test_a_create_whose_answer_was_lost_is_not_resent_unless_asked(client: Client, emulator: Emulator) -> None:
    emulator.inject("create", "drop", created=True)
    lost = await client.call_tool("generate_image", {"prompt": "a fox"})
    assert lost.is_error
    assert "new_variation=true" in lost.content[0].text  # type: ignore[union-attr]
    again = await client.call_tool("generate_image", {"prompt": "a fox"})
    assert again.is_error
    assert "was not sent" in again.content[0].text  # type: ignore[union-attr]
    assert len(emulator.requests_to("create")) == 1
    forced = structured(await client.call_tool("generate_image", {"prompt": "a fox", "new_variation": True}))
    assert forced["state"] == "completed"
    assert len(emulator.requests_to("create")) == 2


async def test_a_call_cancelled_while_its_create_is_in_flight_still_records_the_job(
    client: Client, emulator: Emulator
) -> None:
    emulator.configure(latency=100)
    emulator.inject("create", "slow", delay=5)  # answered 5 s later, within the client's timeout
    call = anyio.CancelScope()

    async def generate() -> None:
        with call:
            await client.call_tool("generate_image", {"prompt": "a fox"})

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(generate)
        await until_requested(emulator, "create")  # the create is in flight
        call.cancel()  # the host gives up on the call, as a user's "stop" does
        await anyio.wait_all_tasks_blocked()
        emulator.clock.advance(10)  # then the answer arrives
    retried = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    assert retried["reused"] is True
    assert len(emulator.generation_ids()) == 1


async def test_a_lost_answer_is_not_resent_even_with_the_dedupe_window_off(
    emulator: Emulator, output_dir: Path
) -> None:
    from ..support.samples import KEY
    from ..support.servers import make_server

    settings = Settings(api_key=KEY, base_url=emulator.base_url, output_dir=output_dir, dedupe_seconds=0)  # type: ignore[arg-type]
    async with Client(make_server(settings, emulator)) as client:
        emulator.inject("create", "drop", created=True)
        assert (await client.call_tool("generate_image", {"prompt": "a fox"})).is_error
        emulator.clock.advance(2)  # the agent reads the error and calls again
        again = await client.call_tool("generate_image", {"prompt": "a fox"})
    assert again.is_error
    assert "was not sent" in again.content[0].text  # type: ignore[union-attr]
    assert len(emulator.requests_to("create")) == 1


async def test_a_reused_job_that_cannot_be_looked_at_is_named_in_the_error(client: Client, emulator: Emulator) -> None:
    emulator.configure(latency=100)
    first = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    emulator.inject("get", "status", status=401, detail="Invalid API key")  # a look fails at once
    retried = await client.call_tool("generate_image", {"prompt": "a fox"})
    assert retried.is_error
    text = retried.content[0].text  # type: ignore[union-attr]
    assert f"generation {first['generation_id']}" in text
    assert "wait_for_generation" in text
    assert len(emulator.requests_to("create")) == 1


async def test_a_workspace_made_again_on_the_same_store_still_gives_the_job_back(
    settings: Settings, emulator: Emulator
) -> None:
    """What lets a BYOK server drop an idle user's workspace: what identical calls get back is the
    store's, not the runner's (a new variation included)."""
    import httpx2

    from luma_mcp.api import GenerationRequest, LumaClient, SharedHttpClient
    from luma_mcp.jobs.runner import GenerationRunner
    from luma_mcp.store.location import open_store

    from ..support.clocks import VirtualTime

    store = open_store(None, settings.output_dir)
    http = SharedHttpClient(lambda: httpx2.AsyncClient(transport=emulator.transport()))
    async with http:
        client = LumaClient(http, api_key=KEY, base_url=emulator.base_url, timekeeper=VirtualTime(emulator.clock))

        def runner() -> GenerationRunner:
            return GenerationRunner(client, http, settings, store.account("a1b2c3d4e5f60718"), wall=emulator.clock.now)

        request = GenerationRequest(prompt="a fox")
        first = await runner().run(request)
        second = await runner().run(request, new_variation=True)  # replaces the first as the one to reuse
        again = await runner().run(request)
        assert runner().idle()
        emulator.clock.advance(settings.dedupe_seconds + 1)
        later = await runner().run(request)
    await store.aclose()
    assert first.generation.id != second.generation.id
    assert (again.generation.id, again.reused_after is not None) == (second.generation.id, True)
    assert later.generation.id not in (first.generation.id, second.generation.id)


async def test_a_call_counts_as_under_way_while_its_inputs_upload(
    client: Client, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What keeps a BYOK user's workspace (and its dedupe memory) through a slow upload."""
    from luma_mcp.jobs.runner import GenerationRunner
    from luma_mcp.media.resolver import InputResolver

    runners: list[GenerationRunner] = []
    idle_while_uploading: list[bool] = []
    real_busy, real_resolve_all = GenerationRunner.busy, InputResolver.resolve_all

    @contextmanager
    def busy(self: GenerationRunner) -> Iterator[None]:
        runners.append(self)
        with real_busy(self):
            yield

    async def resolve_all(self: InputResolver, *args: Any, **kwargs: Any) -> Any:
        idle_while_uploading.append(runners[0].idle())
        return await real_resolve_all(self, *args, **kwargs)

    monkeypatch.setattr(GenerationRunner, "busy", busy)
    monkeypatch.setattr(InputResolver, "resolve_all", resolve_all)
    await client.call_tool("generate_image", {"prompt": "a fox"})
    assert idle_while_uploading == [False]


def on_store(settings: Settings, store_url: str | None) -> Settings:
    from pydantic import SecretStr

    return settings.model_copy(update={"store_url": SecretStr(store_url) if store_url else None})


async def test_a_second_server_on_the_same_store_gets_the_job_back_and_waits_for_a_create_in_flight(
    settings: Settings, emulator: Emulator, store_url: str | None, autojump: AutojumpTime
) -> None:
    """Two copies of the server (two hosts' processes, or replicas) on one store: one POST each time.
    Their waits run side by side, so time jumps only when both wait (the store's own work is real)."""
    shared = on_store(settings, store_url)
    emulator.configure(latency=100)

    def copy() -> Client:
        server = build_server(shared, transport=emulator.transport(), timekeeper=autojump, clock=emulator.clock.now)
        return Client(server)  # pyright: ignore[reportArgumentType]

    async with copy() as one, copy() as other:
        first = structured(await one.call_tool("generate_image", {"prompt": "a fox"}))
        again = structured(await other.call_tool("generate_image", {"prompt": "a fox"}))
        emulator.inject("create", "slow", delay=5)  # the next create answers 5 s late
        answers: dict[str, Any] = {}

        async def call(name: str, client: Client) -> None:
            answers[name] = structured(await client.call_tool("generate_image", {"prompt": "a heron"}))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(call, "sent", one)
            await until_requested(emulator, "create", 2)  # its create is in flight
            tasks.start_soon(call, "waited", other)  # finds the claim, and waits for its outcome
    assert (again["generation_id"], again["reused"]) == (first["generation_id"], True)
    assert answers["waited"]["generation_id"] == answers["sent"]["generation_id"]
    assert answers["waited"]["reused"] is True
    assert len(emulator.requests_to("create")) == 2


async def test_a_lost_answer_is_refused_by_every_server_on_the_store(
    settings: Settings, emulator: Emulator, store_url: str | None
) -> None:
    from ..support.servers import make_server

    shared = on_store(settings, store_url)
    async with Client(make_server(shared, emulator)) as one, Client(make_server(shared, emulator)) as other:
        emulator.inject("create", "drop", created=True)
        assert (await one.call_tool("generate_image", {"prompt": "a fox"})).is_error
        again = await other.call_tool("generate_image", {"prompt": "a fox"})
    assert "was not sent" in again.content[0].text  # type: ignore[union-attr]
    assert len(emulator.requests_to("create")) == 1
