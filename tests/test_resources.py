"""MCP resources over the history: what was made, across restarts, only from the server's own
folders, and a notice to listening clients when the list changes."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server import MCPServer

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.workspaces import AppState

from .support.samples import plant_history
from .support.servers import make_server, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


async def test_resources_serve_only_files_in_the_servers_own_folders(
    settings: Settings, emulator: Emulator, output_dir: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "credentials.png"
    secret.write_bytes(b"\x89PNG secret")
    generation_id = "11111111-2222-3333-4444-555555555555"
    plant_history(output_dir, generation_id, secret)
    async with Client(make_server(settings, emulator)) as client:
        with pytest.raises(Exception, match="no saved image 0"):
            await client.read_resource(f"luma://generations/{generation_id}/images/0.png")
        listed = await client.list_resources()
    assert all("credentials" not in str(resource.uri) + resource.name for resource in listed.resources)


async def test_resources_serve_what_was_made_across_restarts(settings: Settings, emulator: Emulator) -> None:
    async with Client(make_server(settings, emulator)) as client:
        data = structured(await client.call_tool("generate_image", {"prompt": "a fox", "output_format": "jpeg"}))
        listed_now = {str(r.uri) for r in (await client.list_resources()).resources}
    gid = data["generation_id"]
    image_uri = f"luma://generations/{gid}/images/0.jpg"
    assert image_uri in listed_now  # listed as soon as it is saved
    async with Client(make_server(settings, emulator)) as client:
        resources = {str(r.uri): r for r in (await client.list_resources()).resources}
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        metadata = (await client.read_resource(f"luma://generations/{gid}")).contents[0]
        image = (await client.read_resource(image_uri)).contents[0]
    assert resources[image_uri].mime_type == "image/jpeg"
    assert "luma://generations/{generation_id}" in templates
    entry: dict[str, Any] = json.loads(metadata.text)  # type: ignore[union-attr]
    assert (entry["generation_id"], entry["prompt"]) == (gid, "a fox")
    assert image.mime_type == "image/jpeg"
    assert base64.b64decode(image.blob) == await emulator.output_bytes(gid)  # type: ignore[union-attr]


async def test_an_unknown_generation_is_not_a_resource(client: Client) -> None:
    from mcp import MCPError

    with pytest.raises(MCPError, match="No generation"):
        await client.read_resource("luma://generations/d290f1ee-6c54-4b01-90e6-d701748f0851")


async def test_listening_clients_hear_that_a_saved_image_was_listed(server: MCPServer[AppState]) -> None:
    from mcp.shared.subscriptions import ResourcesListChanged

    heard: list[object] = []
    async with (
        Client(server, mode="auto") as client,  # listening is of the 2026-07-28 era
        client.listen(resources_list_changed=True) as subscription,
    ):
        assert subscription.honored.resources_list_changed
        generated: list[str] = []
        for prompt in ("a fox", "a whale"):
            generated.append(structured(await client.call_tool("generate_image", {"prompt": prompt}))["generation_id"])
            with anyio.fail_after(5):  # a guard against hanging, not a wait: the event is already sent
                heard.append(await anext(subscription))
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
    assert heard == [ResourcesListChanged(), ResourcesListChanged()]
    assert {f"luma://generations/{g}/images/0.png" for g in generated} <= listed


async def test_an_image_is_read_under_the_extension_and_type_of_its_bytes_only(client: Client) -> None:
    from mcp import MCPError

    data = structured(await client.call_tool("generate_image", {"prompt": "a fox", "output_format": "png"}))
    gid = data["generation_id"]
    image = (await client.read_resource(f"luma://generations/{gid}/images/0.png")).contents[0]
    assert image.mime_type == "image/png"
    assert base64.b64decode(image.blob).startswith(b"\x89PNG")  # type: ignore[union-attr]
    for wrong in ("jpg", "webp"):
        with pytest.raises(MCPError, match=rf"is image/png, not image/.*: read luma://generations/{gid}/images/0\.png"):
            await client.read_resource(f"luma://generations/{gid}/images/0.{wrong}")
