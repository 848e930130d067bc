"""The emulator on a real port, driven by the official `luma-agents` SDK, stopped with Ctrl-C."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import httpx
import luma_agents
import pytest

from ..standalone import Standalone, standalone_emulator


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
    from tests.helpers import png_bytes

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
    assert standalone.process.stderr is not None
    err = standalone.process.stderr.read()
    assert "Traceback" not in err, err
