"""The emulator on a real port, driven by the official `luma-agents` SDK, stopped with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import luma_agents
import pytest

from ..support.processes import Standalone, standalone_emulator, without_admin_token

ADMIN_TOKEN = "emulator-admin-token-0123"


@pytest.fixture
def standalone() -> Iterator[Standalone]:
    with standalone_emulator("--latency", "30", "--long-edge", "256") as running:
        yield running


def sdk(standalone: Standalone, key: str | None = None) -> luma_agents.Luma:
    # No retries: the SDK would otherwise sleep through Retry-After and retry POSTs.
    return luma_agents.Luma(auth_token=key or standalone.key, base_url=standalone.base_url, max_retries=0)


def test_official_sdk_creates_polls_and_downloads(standalone: Standalone) -> None:
    client = sdk(standalone)
    generation = client.generations.create(prompt="A lighthouse at dusk", aspect_ratio="16:9", output_format="png")
    assert (generation.state, generation.output) == ("queued", [])
    assert client.generations.get(generation.id).state == "queued"
    standalone.admin("clock", advance=31)
    done = client.generations.get(generation.id)
    assert done.state == "completed"
    assert done.output
    image = httpx.get(done.output[0].url)  # storage: no API key
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")


def test_official_sdk_raises_its_own_errors(standalone: Standalone) -> None:
    client = sdk(standalone)
    with pytest.raises(luma_agents.BadRequestError, match="Invalid aspect_ratio '4:3'"):
        client.generations.create(prompt="x", aspect_ratio="4:3")  # type: ignore[arg-type]
    with pytest.raises(luma_agents.AuthenticationError, match="Missing or invalid API key"):
        sdk(standalone, "not-a-luma-key").generations.get("x")
    with pytest.raises(luma_agents.NotFoundError, match="Generation not found"):
        client.generations.get("00000000-0000-0000-0000-000000000000")
    with pytest.raises(luma_agents.UnprocessableEntityError, match="invalid base64 data"):
        client.generations.create(prompt="x", image_ref=[{"data": "%%%", "media_type": "image/png"}])
    standalone.admin("config", rpm=1)
    client.generations.create(prompt="first")
    with pytest.raises(luma_agents.RateLimitError, match="Rate limit exceeded") as limited:
        client.generations.create(prompt="second")
    assert int(limited.value.response.headers["retry-after"]) > 0


def test_official_sdk_uploads_a_file_and_references_it(standalone: Standalone) -> None:
    from tests.support.samples import png_bytes

    client = sdk(standalone)
    data = png_bytes((32, 32))
    created = client.files.create(mime_type="image/png", size_bytes=len(data), filename="a.png")
    assert created.upload is not None
    put = httpx.put(created.upload.url, content=data, headers=created.upload.headers or {})
    assert put.status_code == 200
    client.files.complete(created.id)
    standalone.admin("clock", advance=2)
    assert client.files.get(created.id).state == "ready"
    generation = client.generations.create(prompt="x", type="image_edit", source={"file_id": created.id})
    assert generation.state == "queued"
    client.files.delete(created.id)


def test_ctrl_c_stops_the_server_cleanly(standalone: Standalone) -> None:
    standalone.process.send_signal(signal.SIGINT)
    assert standalone.process.wait(timeout=10) == 0
    assert standalone.child.stderr is not None
    err = "".join(standalone.child.stderr.rest())
    assert "Traceback" not in err, err


def test_beyond_loopback_it_will_not_start_without_an_admin_token() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "luma_mcp", "emulator", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        env=without_admin_token(os.environ),
        check=False,
    )
    assert done.returncode != 0
    assert "LUMA_EMULATOR_ADMIN_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr
    assert "LUMA_BASE_URL" not in done.stdout  # it never served


def test_with_an_admin_token_the_admin_paths_need_it_and_the_api_does_not() -> None:
    with standalone_emulator("--latency", "0", "--long-edge", "64", admin_token=ADMIN_TOKEN) as running:
        admin = running.base_url.removesuffix("/v1") + "/_emulator"
        anonymous = httpx.post(f"{admin}/reset")
        wrong = httpx.get(f"{admin}/requests", headers={"Authorization": "Bearer nope"})
        with_api_key = httpx.post(
            f"{admin}/keys",
            json={"key": running.key, "state": "revoked"},
            headers={"Authorization": f"Bearer {running.key}"},
        )
        created = sdk(running).generations.create(prompt="a lighthouse")  # the key was not revoked
        running.admin("clock", advance=1)  # the token opens them
        log = running.requests()
    assert [r.status_code for r in (anonymous, wrong, with_api_key)] == [401, 401, 401]
    assert "LUMA_EMULATOR_ADMIN_TOKEN" in anonymous.json()["detail"]
    assert created.state == "queued"
    assert [(r["route"], r["generation_id"]) for r in log] == [("create", created.id)]
