"""Streamable HTTP on a real port: the tools end to end, the guards, keys per user, shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import ImageContent, ResourceLink, TextContent
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from luma_mcp.config import Settings
from luma_mcp.emulator import fingerprint
from luma_mcp.errors import ConfigError
from luma_mcp.http_app import Gatekeeper, uvicorn_config

from .support.processes import Standalone, child, http_server, http_server_args, listening_url, standalone_emulator
from .support.samples import b64, png_bytes

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

TOKEN = "test-access-token-0123456789abcdefghij"


@pytest.fixture
def api() -> Iterator[Standalone]:
    with standalone_emulator("--latency", "0", "--long-edge", "256") as running:
        yield running


def server_env(api: Standalone, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "HOME": str(tmp_path),
        "LUMA_BASE_URL": api.base_url,
        "LUMA_AGENTS_API_KEY": api.key,
        "LUMA_MCP_WAIT_SECONDS": "0",  # calls hand off at once: no test waits on real time
        **extra,
    }


@asynccontextmanager
async def mcp_client(base_url: str, headers: dict[str, str] | None = None, mode: str = "auto") -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers=headers or {}, timeout=30) as http,
        Client(streamable_http_client(f"{base_url}/mcp", http_client=http), mode=mode) as client,  # pyright: ignore[reportArgumentType]
    ):
        yield client


def text(result: Any) -> str:
    return "".join(b.text for b in result.content if isinstance(b, TextContent))


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_tools_work_end_to_end_over_http(api: Standalone, tmp_path: Path, mode: str) -> None:
    with http_server(env=server_env(api, tmp_path)) as base_url:
        async with mcp_client(base_url, mode=mode) as client:
            # 2026-07-28 requests carry the client's capabilities (no MCP Apps here), so the view's own
            # tools are left out; stateless 2025-11-25 requests carry none, so they are listed.
            assert len((await client.list_tools()).tools) == {"auto": 8, "legacy": 10}[mode]
            queued = await client.call_tool("generate_image", {"prompt": "a fox over http"})
            assert queued.structured_content is not None
            done = await client.call_tool(
                "get_generation", {"generation_id": queued.structured_content["generation_id"]}
            )
    assert done.structured_content is not None
    [output] = done.structured_content["outputs"]
    assert output["path"] is None  # nothing kept on the server's disk by default over HTTP
    assert output["url"].startswith("http://localhost:")  # the link is the image
    assert [b for b in done.content if isinstance(b, ImageContent)]  # and the model still sees it
    assert not [b for b in done.content if isinstance(b, ResourceLink) and b.uri.startswith("file:")]
    assert "keeps no files" in done.structured_content["next_step"]
    assert not (tmp_path / "Pictures").exists()
    assert not (tmp_path / "luma-agents").exists()


async def test_health_answers_without_the_token_and_everything_else_needs_it(api: Standalone, tmp_path: Path) -> None:
    with http_server(env=server_env(api, tmp_path, LUMA_MCP_HTTP_TOKEN=TOKEN)) as base_url:
        async with httpx2.AsyncClient() as http:
            assert (await http.get(f"{base_url}/healthz")).json()["status"] == "ok"
            missing = await http.post(f"{base_url}/mcp", json={})
            wrong = await http.post(f"{base_url}/mcp", json={}, headers={"Authorization": "Bearer nope"})
        assert (missing.status_code, wrong.status_code) == (401, 401)
        assert missing.headers["www-authenticate"] == "Bearer"
        async with mcp_client(base_url, {"Authorization": f"Bearer {TOKEN}"}) as client:
            assert len((await client.list_tools()).tools) == 8


def test_bad_host_and_origin_and_keys_in_urls_are_refused(api: Standalone, tmp_path: Path) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    with http_server(env=server_env(api, tmp_path)) as base_url:
        port = base_url.rsplit(":", 1)[1]
        rebinding = httpx.post(f"{base_url}/mcp", json=body, headers={"Host": f"evil.example:{port}"})
        cross_site = httpx.post(f"{base_url}/mcp", json=body, headers={"Origin": "https://evil.example"})
        in_url = [
            httpx.post(f"{base_url}/mcp?{name}=luma-api-secret", json=body)
            for name in ("api_key", "x-luma-agents-api-key", "X_Luma_Agents_Api_Key", "Authorization")
        ]
    assert (rebinding.status_code, cross_site.status_code) == (421, 403)
    assert rebinding.json()["error"] == (
        f"requests for the host evil.example:{port} are not accepted; list it in LUMA_MCP_ALLOWED_HOSTS "
        "(comma-separated, e.g. mcp.example.com or mcp.example.com:*)"
    )
    assert [response.status_code for response in in_url] == [400] * 4
    assert all("not accepted in URLs" in response.text for response in in_url)


def test_beyond_loopback_a_foreign_origin_is_refused_even_with_the_token(api: Standalone, tmp_path: Path) -> None:
    """No Host list here, so the SDK checks neither Host nor Origin: the Origin list must hold anyway."""
    env = server_env(api, tmp_path, LUMA_MCP_HTTP_TOKEN=TOKEN, LUMA_MCP_ALLOWED_ORIGINS="https://app.example.com")
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with http_server("--host", "0.0.0.0", env=env) as bound:
        base_url = bound.replace("0.0.0.0", "127.0.0.1")
        foreign = httpx.post(f"{base_url}/mcp", json=body, headers={**auth, "Origin": "https://evil.example"})
        loopback_page = httpx.post(f"{base_url}/mcp", json=body, headers={**auth, "Origin": "http://localhost:3000"})
        tools: list[int] = []

        async def list_tools(headers: dict[str, str]) -> None:
            async with mcp_client(base_url, headers) as client:
                tools.append(len((await client.list_tools()).tools))

        anyio.run(list_tools, {**auth, "Origin": "https://app.example.com"})
        anyio.run(list_tools, auth)  # a client that is no browser sends no Origin
    assert (foreign.status_code, loopback_page.status_code) == (403, 403)
    assert "https://evil.example" in foreign.json()["error"]
    assert "LUMA_MCP_ALLOWED_ORIGINS" in foreign.json()["error"]
    assert tools == [8, 8]


def test_a_body_over_the_cap_is_refused_with_413_naming_the_setting(api: Standalone, tmp_path: Path) -> None:
    image = "A" * 20_000  # 20 KB of base64, over a 10 KB cap
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "upload_image", "arguments": {"data": image, "media_type": "image/png"}},
    }
    payload = json.dumps(call).encode()

    def chunked() -> Iterator[bytes]:  # no Content-Length: the cap must hold while reading too
        yield from (payload[i : i + 4096] for i in range(0, len(payload), 4096))

    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    with http_server(env=server_env(api, tmp_path, LUMA_MCP_HTTP_MAX_BODY_MB="0.01")) as base_url:
        declared = httpx.post(f"{base_url}/mcp", content=payload, headers=headers)
        streamed = httpx.post(f"{base_url}/mcp", content=chunked(), headers=headers)
        small = httpx.post(f"{base_url}/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "ping"}, headers=headers)
    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert "LUMA_MCP_HTTP_MAX_BODY_MB" in declared.json()["error"]
    assert "0.01 MB" in declared.json()["error"]
    assert small.status_code == 200
    assert not [r for r in api.requests() if r["route"] in ("files", "upload")]  # nothing reached the API


def test_websockets_are_refused_whatever_they_carry() -> None:
    """Nothing here speaks WebSocket; one must not slip past the token check to the app behind."""
    reached: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope["type"])
        await send({"type": "websocket.accept"})

    settings = Settings(transport="http", http_token=TOKEN)  # pyright: ignore[reportArgumentType]
    client = TestClient(Gatekeeper(app, settings))
    for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}):
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/mcp", headers=headers):
            pass
        assert refused.value.code == 1008
    assert reached == []


@pytest.mark.parametrize("token", ["short", "x" * 31])
def test_a_short_token_is_refused_at_start_with_the_command_that_makes_a_good_one(token: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.load({}, {"LUMA_MCP_TRANSPORT": "http", "LUMA_MCP_HTTP_TOKEN": token})
    message = str(refused.value)
    assert f"LUMA_MCP_HTTP_TOKEN is {len(token)} characters; use at least 32" in message
    assert "LUMA_MCP_HTTP_TOKEN=$(openssl rand -hex 32)" in message
    assert token not in message.replace("LUMA_MCP_HTTP_TOKEN", "")
    assert Settings.load({}, {"LUMA_MCP_TRANSPORT": "http", "LUMA_MCP_HTTP_TOKEN": "x" * 32}).http_token


def test_beyond_loopback_with_no_host_list_any_host_is_accepted_as_the_readme_says() -> None:
    reached: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(dict(scope["headers"])[b"host"].decode())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    beyond = Settings(transport="http", host="0.0.0.0", http_token=TOKEN)  # pyright: ignore[reportArgumentType]
    loopback = Settings(transport="http")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    answered = TestClient(Gatekeeper(app, beyond)).post("/mcp", headers={**auth, "Host": "mcp.example.com"})
    refused = TestClient(Gatekeeper(app, loopback)).post("/mcp", headers={"Host": "mcp.example.com"})
    assert (answered.status_code, refused.status_code) == (204, 421)
    assert reached == ["mcp.example.com"]


def test_the_shutdown_bound_is_rounded_up_not_truncated(tmp_path: Path) -> None:
    settings = Settings(transport="http", shutdown_seconds=2.5, output_dir=tmp_path)
    assert uvicorn_config(settings).timeout_graceful_shutdown == 3
    assert uvicorn_config(settings.model_copy(update={"shutdown_seconds": 0.2})).timeout_graceful_shutdown == 1


def test_binding_beyond_loopback_without_a_token_refuses_to_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "luma_mcp", "--transport", "http", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 2
    assert "LUMA_MCP_HTTP_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr


async def test_each_user_reaches_the_api_with_their_own_key_only(api: Standalone, tmp_path: Path) -> None:
    keys = {"alice": "luma-api-alice-key", "bob": "luma-api-bob-key"}
    env = server_env(api, tmp_path, LUMA_MCP_BYOK="1", LUMA_MCP_WAIT_SECONDS="1")
    seen: dict[str, list[str]] = {}
    with http_server(env=env) as base_url:

        async def user(name: str) -> None:
            async with mcp_client(base_url, {"X-Luma-Agents-Api-Key": keys[name]}) as client:
                ids = []
                for i in range(3):
                    result = await client.call_tool("generate_image", {"prompt": f"{name}'s picture {i}"})
                    assert result.structured_content is not None, text(result)
                    ids.append(result.structured_content["generation_id"])
                listed = await client.call_tool("list_generations", {})
                assert listed.structured_content is not None
                assert {g["generation_id"] for g in listed.structured_content["generations"]} == set(ids)
                seen[name] = ids

        async with anyio.create_task_group() as users:
            users.start_soon(user, "alice")
            users.start_soon(user, "bob")

        async with mcp_client(base_url) as anonymous:
            refused = await anonymous.call_tool("generate_image", {"prompt": "no key"})
        assert refused.is_error
        assert "X-Luma-Agents-Api-Key" in text(refused) or "x-luma-agents-api-key" in text(refused)
    log = api.requests()
    creates = [r for r in log if r["route"] == "create" and r["status"] == 201]
    assert len(creates) == 6
    by_key = {r["generation_id"]: r["key_fingerprint"] for r in creates}
    for name, ids in seen.items():
        assert {by_key[i] for i in ids} == {fingerprint(keys[name])}
    gets = {r["key_fingerprint"] for r in log if r["route"] == "get"}
    assert fingerprint(api.key) not in gets | set(by_key.values())  # the server's own key is never used


async def test_users_saved_images_stay_apart_even_in_the_temporary_fallback(
    api: Standalone, tmp_path: Path, temporary_folder: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    env = server_env(
        api,
        tmp_path,
        LUMA_MCP_BYOK="1",
        LUMA_MCP_SAVE_OUTPUTS="1",
        LUMA_MCP_OUTPUT_DIR=str(blocked / "images"),  # cannot be written: images go to the fallback
        LUMA_MCP_WAIT_SECONDS="5",
        TMPDIR=str(temporary_folder),
    )
    with http_server(env=env) as base_url:
        async with mcp_client(base_url, {"X-Luma-Agents-Api-Key": "luma-api-alice-key"}) as alice:
            made = await alice.call_tool("generate_image", {"prompt": "alice's secret plan"})
            assert made.structured_content is not None, text(made)
            [output] = made.structured_content["outputs"]
            assert output["path"]
            assert Path(output["path"]).is_relative_to(temporary_folder)
            generation_id = made.structured_content["generation_id"]
        async with mcp_client(base_url, {"X-Luma-Agents-Api-Key": "luma-api-bob-key"}) as bob:
            listed = await bob.call_tool("list_generations", {})
            with pytest.raises(Exception, match="No generation"):
                await bob.read_resource(f"luma://generations/{generation_id}")
    assert listed.structured_content is not None
    assert listed.structured_content["generations"] == []
    assert "alice" not in text(listed)


async def test_a_rejected_user_key_is_blamed_on_the_header_it_came_in(api: Standalone, tmp_path: Path) -> None:
    api.admin("keys", key="luma-api-revoked-key", state="revoked")
    with http_server(env=server_env(api, tmp_path, LUMA_MCP_BYOK="1")) as base_url:
        async with mcp_client(base_url, {"X-Luma-Agents-Api-Key": "luma-api-revoked-key"}) as client:
            refused = await client.call_tool("generate_image", {"prompt": "a revoked fox"})
    assert refused.is_error
    assert "revoked" in text(refused)
    assert "the key sent in the X-Luma-Agents-Api-Key header" in text(refused)
    assert "LUMA_AGENTS_API_KEY" not in text(refused)  # the server's setting is not the user's to change


async def test_local_paths_are_refused_over_http_unless_folders_are_named(api: Standalone, tmp_path: Path) -> None:
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    (pictures / "cat.png").write_bytes(png_bytes())
    arguments = {"prompt": "x", "image_ref": [{"path": str(pictures / "cat.png")}]}
    with http_server(env=server_env(api, tmp_path)) as base_url:
        async with mcp_client(base_url) as client:
            refused = await client.call_tool("generate_image", arguments)
    assert refused.is_error
    assert "this server is set to read no local files" in text(refused)  # the caller's path names nothing here
    with http_server(env=server_env(api, tmp_path, LUMA_MCP_ALLOWED_DIRS=str(pictures))) as base_url:
        async with mcp_client(base_url) as client:
            allowed = await client.call_tool("generate_image", arguments)
            inline = await client.call_tool(
                "generate_image", {"prompt": "y", "image_ref": [{"data": b64(png_bytes()), "media_type": "image/png"}]}
            )
    assert not allowed.is_error, text(allowed)
    assert not inline.is_error


def test_sigterm_during_a_wait_hands_the_job_off_and_exits_within_the_bound(tmp_path: Path) -> None:
    with standalone_emulator("--latency", "100", "--long-edge", "64") as slow_api:
        env = server_env(slow_api, tmp_path, LUMA_MCP_WAIT_SECONDS="35", LUMA_MCP_SHUTDOWN_SECONDS="2")
        with child(
            http_server_args(), env={"PATH": os.environ.get("PATH", ""), **env}, stdout=subprocess.DEVNULL
        ) as server:
            process = server.process
            assert server.stderr is not None
            base_url = listening_url(server.stderr)

            answers: list[Any] = []
            signalled: list[float] = []

            async def call_then_terminate() -> None:
                async with anyio.create_task_group() as tasks:

                    async def call() -> None:
                        async with mcp_client(base_url) as client:  # still connected when the signal comes
                            # Listed first: the client checks a result against the tool's output
                            # schema, and would ask for the list after the server has gone.
                            await client.list_tools()
                            answers.append(await client.call_tool("generate_image", {"prompt": "a slow fox"}))

                    tasks.start_soon(call)
                    await slow_api.until_requested("get")  # the server has started waiting on the job
                    process.send_signal(signal.SIGTERM)
                    signalled.append(time.monotonic())

            anyio.run(call_then_terminate)
            code = process.wait(timeout=10)
            elapsed = time.monotonic() - signalled[0]  # from the signal: start-up and the call's start vary with load
            stderr = "".join(server.stderr.rest())
            created = {r.get("generation_id") for r in slow_api.requests() if r["route"] == "create"}
    # Uvicorn finishes its graceful shutdown, then exits by the signal it got, as a process should.
    assert code in (0, -signal.SIGTERM)
    assert elapsed < 2 + 3  # the shutdown bound, plus slack
    assert "Traceback" not in stderr
    [answer] = answers  # the waiting caller got an answer, not a cut connection
    assert not answer.is_error, text(answer)
    assert answer.structured_content["state"] in ("queued", "processing")
    assert answer.structured_content["generation_id"] in created
    assert "shutting down" in " ".join(answer.structured_content["warnings"])
    assert "wait_for_generation" in answer.structured_content["next_step"]
