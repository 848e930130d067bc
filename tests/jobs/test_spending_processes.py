"""Caps shared as users run the server: two stdio servers on one output folder (one SQLite file)
and two HTTP replicas on one Redis, each against one API (a standalone emulator). Calls at once in
both never pass the cap together; a BYOK user's cap is theirs alone; results carry `_meta.cost` and
the running total over stdio and over HTTP; a question asked over HTTP is answered on another
replica only with the shared sealing key, and stateless 2025-11-25 HTTP gets the quote instead."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, ElicitRequestParams, ElicitResult

from ..store.test_processes import creates, environment
from ..store.test_replicas import ALICE, BOB, connected, replicas
from ..support.processes import Standalone, StdioServer, standalone_emulator, stdio_server
from ..support.servers import structured, text

pytestmark = pytest.mark.usefixtures("temporary_folder")

TWO_IMAGES = "0.0808"


@pytest.fixture
def api() -> Iterator[Standalone]:
    with standalone_emulator("--latency", "30", "--long-edge", "64") as running:
        yield running


def answered(server: StdioServer, numbers: Sequence[int], seconds: float = 60) -> list[dict[str, Any]]:
    """The results of requests `numbers`, in whatever order they come."""
    assert server.child.stdout is not None
    found: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + seconds
    while len(found) < len(numbers):
        message = json.loads(server.child.stdout.next(deadline, f"no answer to all of {numbers}"))
        if message.get("id") in numbers:
            found[message["id"]] = message["result"]
    return list(found.values())


def test_a_cap_holds_across_two_stdio_servers_on_one_folder(api: Standalone, tmp_path: Path) -> None:
    env = environment(api, tmp_path, LUMA_MCP_WAIT_SECONDS="0", LUMA_MCP_BUDGET_DAILY_USD=TWO_IMAGES)
    with stdio_server(env) as desktop, stdio_server(env) as code:
        sent = [(server, [server.call("generate_image", {"prompt": f"a fox, call {n} of {name}"}) for n in range(3)])
                for name, server in (("desktop", desktop), ("code", code))]  # fmt: skip
        answers = [answer for server, numbers in sent for answer in answered(server, numbers)]
        spent = code.tool("get_spending", {})
    assert creates(api) == 2
    made = [answer for answer in answers if not answer.get("isError")]
    refused = [answer for answer in answers if answer.get("isError")]
    assert len(made) == 2
    assert all("LUMA_MCP_BUDGET_DAILY_USD" in answer["content"][0]["text"] for answer in refused)
    assert {answer["_meta"]["cost"]["usd"] for answer in made} == {0.0404}  # over stdio, as hosts read it
    assert max(answer["_meta"]["spending"]["today_usd"] for answer in made) == 0.0808
    assert (spent["today_usd"], spent["daily_left_usd"]) == (0.0808, 0)


@pytest.mark.anyio
async def test_a_cap_holds_across_two_replicas_on_one_redis(api: Standalone, redis_url: str, tmp_path: Path) -> None:
    results: list[CallToolResult] = []
    with replicas(api, redis_url, tmp_path, LUMA_MCP_BUDGET_DAILY_USD=TWO_IMAGES) as (one, two):
        async with connected((one, None), (two, None)) as clients:

            async def call(client: Client, number: int) -> None:
                results.append(await client.call_tool("generate_image", {"prompt": f"a hen, call {number}"}))

            async with anyio.create_task_group() as tasks:
                for number in range(6):
                    tasks.start_soon(call, clients[number % 2], number)
            spent = structured(await clients[1].call_tool("get_spending", {}))
    assert creates(api) == 2
    made = [result for result in results if not result.is_error]
    assert len(made) == 2
    assert all("LUMA_MCP_BUDGET_DAILY_USD" in text(result) for result in results if result.is_error)
    assert all(result.meta is not None and result.meta["cost"]["usd"] == 0.0404 for result in made)  # over HTTP
    assert max(result.meta["spending"]["today_usd"] for result in made if result.meta) == 0.0808
    assert spent["today_usd"] == 0.0808


@pytest.mark.anyio
async def test_a_byok_users_cap_is_their_own(api: Standalone, redis_url: str, tmp_path: Path) -> None:
    with replicas(api, redis_url, tmp_path, LUMA_MCP_BYOK="1", LUMA_MCP_BUDGET_DAILY_USD="0.0404") as (one, two):
        async with connected((one, ALICE), (two, ALICE), (two, BOB)) as (alice_one, alice_two, bob):
            first = await alice_one.call_tool("generate_image", {"prompt": "alice's fox"})
            again = await alice_two.call_tool("generate_image", {"prompt": "alice's hen"})
            bobs = await bob.call_tool("generate_image", {"prompt": "bob's fox"})
            bob_spent = structured(await bob.call_tool("get_spending", {}))
    assert not first.is_error
    assert not bobs.is_error
    assert again.is_error
    assert "ask the operator of this server to raise LUMA_MCP_BUDGET_DAILY_USD" in text(again)
    assert bob_spent["today_usd"] == 0.0404
    assert [call["generation_ids"] for call in bob_spent["recent_calls"]] == [[structured(bobs)["generation_id"]]]


class Alternating(httpx2.AsyncBaseTransport):
    """A load balancer with no stickiness: each HTTP request goes to the next replica in turn."""

    def __init__(self, base_urls: Sequence[str]) -> None:
        self._ports = [httpx2.URL(url).port for url in base_urls]
        self._next = 0
        self._inner = httpx2.AsyncHTTPTransport()
        self.tool_calls: list[int | None] = []
        """The replica (port) each `tools/call` went to."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = self._ports[self._next % len(self._ports)]
        self._next += 1
        if b'"tools/call"' in request.content:
            self.tool_calls.append(port)
        request.url = request.url.copy_with(port=port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def accept(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
    return ElicitResult(action="accept", content={"spend": True})


@pytest.mark.anyio
@pytest.mark.parametrize("shared", [True, False], ids=["shared key", "a key per process"])
async def test_a_question_asked_by_one_replica_is_answered_on_the_other_only_with_a_shared_key(
    api: Standalone, redis_url: str, tmp_path: Path, shared: bool
) -> None:
    settings = {"LUMA_MCP_CONFIRM_ABOVE_USD": "0.05"}
    if shared:
        settings["LUMA_MCP_REQUEST_STATE_KEY"] = "a-shared-secret-for-the-replicas"
    with replicas(api, redis_url, tmp_path, **settings) as (one, two):
        balancer = Alternating([one, two])
        async with httpx2.AsyncClient(transport=balancer, timeout=30) as http:
            transport = streamable_http_client(f"{one}/mcp", http_client=http)
            async with Client(transport, elicitation_callback=accept) as client:  # pyright: ignore[reportArgumentType]
                arguments = {"prompt": "a fox, asked", "model": "uni-1-max"}
                made: CallToolResult | None = None
                if shared:
                    made = await client.call_tool("generate_image", arguments)
                else:  # the other replica cannot open the state this one sealed
                    with pytest.raises(Exception, match="requestState"):
                        await client.call_tool("generate_image", arguments)
        legacy = Client(streamable_http_client(f"{two}/mcp"), mode="legacy", elicitation_callback=accept)  # pyright: ignore[reportArgumentType]
        async with legacy:  # 2025-11-25 over stateless HTTP: no way back to ask
            refused = await legacy.call_tool("generate_image", {"prompt": "a hen, asked", "model": "uni-1-max"})
    assert balancer.tool_calls[0] != balancer.tool_calls[1]  # the call and its retry, each on another replica
    assert "confirm_spend_usd=0.1 " in text(refused)
    if shared:
        assert made is not None
        assert not made.is_error, text(made)
        assert len(balancer.tool_calls) == 2
    assert creates(api) == (1 if shared else 0)
