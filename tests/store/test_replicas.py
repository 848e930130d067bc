"""Copies of the server behind a load balancer with no stickiness: two HTTP replicas on one Redis,
against one API (a standalone emulator). Whichever copy a call reaches, one job per request, any
copy finishes and saves it, and bring-your-own-key users see only their own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from ..support.processes import Standalone, http_server, standalone_emulator
from ..support.servers import structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

ALICE, BOB = "luma-api-replica-alice-0001", "luma-api-replica-bob-0002"


@pytest.fixture
def api() -> Iterator[Standalone]:
    with standalone_emulator("--latency", "30", "--long-edge", "64") as running:
        yield running


@contextmanager
def replicas(api: Standalone, redis_url: str, home: Path, **extra: str) -> Iterator[tuple[str, str]]:
    """Two HTTP servers on one Redis (and, where they keep files, one shared folder), each with
    its own state folder: nothing but Redis is shared between them."""
    env = {
        "LUMA_BASE_URL": api.base_url,
        "LUMA_AGENTS_API_KEY": api.key,
        "LUMA_MCP_STORE_URL": redis_url,
        "LUMA_MCP_WAIT_SECONDS": "0",  # calls hand off at once: no test waits on real time
        "LUMA_MCP_OUTPUT_DIR": str(home / "shared-volume"),
        **extra,
    }
    with (
        http_server(env={**env, "HOME": str(home / "one")}) as one,
        http_server(env={**env, "HOME": str(home / "two")}) as two,
    ):
        yield one, two


@asynccontextmanager
async def connected(*urls: tuple[str, str | None]) -> AsyncIterator[list[Client]]:
    """An MCP client to each (base URL, user key or None)."""
    async with AsyncExitStack() as stack:
        clients = []
        for base_url, key in urls:
            headers = {"X-Luma-Agents-Api-Key": key} if key else {}
            http = await stack.enter_async_context(httpx2.AsyncClient(headers=headers, timeout=30))
            transport = streamable_http_client(f"{base_url}/mcp", http_client=http)
            clients.append(await stack.enter_async_context(Client(transport)))  # pyright: ignore[reportArgumentType]
        yield clients


async def test_the_same_call_sent_to_each_replica_makes_one_job(
    api: Standalone, redis_url: str, tmp_path: Path
) -> None:
    answers: list[dict[str, Any]] = []
    with replicas(api, redis_url, tmp_path) as (one, two):
        async with connected((one, None), (two, None)) as clients:

            async def call(client: Client) -> None:
                answers.append(structured(await client.call_tool("generate_image", {"prompt": "a fox, twice"})))

            async with anyio.create_task_group() as tasks:  # at once, as a retry racing its original
                for client in clients:
                    tasks.start_soon(call, client)
    assert len({answer["generation_id"] for answer in answers}) == 1
    assert sorted(answer["reused"] for answer in answers) == [False, True]
    assert len([r for r in api.requests() if r["route"] == "create"]) == 1


async def test_a_job_started_on_one_replica_is_finished_and_saved_by_the_other(
    api: Standalone, redis_url: str, tmp_path: Path
) -> None:
    with replicas(api, redis_url, tmp_path, LUMA_MCP_SAVE_OUTPUTS="true") as (one, two):
        async with connected((one, None), (two, None)) as (first, second):
            queued = structured(await first.call_tool("generate_image", {"prompt": "a fox across replicas"}))
            api.admin("clock", advance=60)
            waited = {"generation_id": queued["generation_id"], "timeout_seconds": 30}
            done = structured(await second.call_tool("wait_for_generation", waited))
            [seen_by_first] = structured(await first.call_tool("list_generations", {}))["generations"]
    assert queued["state"] == "queued"
    assert done["state"] == "completed"
    saved = Path(done["outputs"][0]["path"])
    assert saved.parent == tmp_path / "shared-volume"
    assert sorted((tmp_path / "shared-volume").glob("*.png")) == [saved]
    assert [f["path"] for f in seen_by_first["files"]] == [str(saved)]  # the history is one
    assert seen_by_first["state"] == "completed"


async def test_a_call_that_hands_its_job_off_leaves_it_free_for_any_replica_to_save(
    api: Standalone, redis_url: str, tmp_path: Path
) -> None:
    """A generating call takes its job's save lock with the create's record (one trip less); one that
    ends before the job does lets it go, so another replica's look saves the image at once."""
    with replicas(api, redis_url, tmp_path, LUMA_MCP_SAVE_OUTPUTS="true") as (one, two):
        async with connected((one, None), (two, None)) as (first, second):
            queued = structured(await first.call_tool("generate_image", {"prompt": "a fox handed off"}))
            api.admin("clock", advance=60)
            done = structured(await second.call_tool("get_generation", {"generation_id": queued["generation_id"]}))
    assert queued["state"] == "queued"
    assert done["state"] == "completed"
    assert not any("saving this image right now" in warning for warning in done.get("warnings", []))
    assert Path(done["outputs"][0]["path"]).parent == tmp_path / "shared-volume"


async def test_bring_your_own_key_users_on_two_replicas_see_only_their_own(
    api: Standalone, redis_url: str, tmp_path: Path
) -> None:
    with replicas(api, redis_url, tmp_path, LUMA_MCP_BYOK="1") as (one, two):
        async with connected((one, ALICE), (two, ALICE), (two, BOB), (one, BOB)) as (alice1, alice2, bob2, bob1):
            made = structured(await alice1.call_tool("generate_image", {"prompt": "alice's secret fox"}))
            hers = structured(await alice2.call_tool("list_generations", {}))["generations"]
            bobs = [structured(await bob.call_tool("list_generations", {"query": "fox"})) for bob in (bob1, bob2)]
            bob_again = structured(await bob2.call_tool("generate_image", {"prompt": "alice's secret fox"}))
            with pytest.raises(Exception, match="No generation"):
                await bob2.read_resource(f"luma://generations/{made['generation_id']}")
    assert [g["generation_id"] for g in hers] == [made["generation_id"]]
    assert [listing["generations"] for listing in bobs] == [[], []]
    assert bob_again["generation_id"] != made["generation_id"]  # never given another user's job
    assert bob_again["reused"] is False
