"""The view as a person sees it, in headless Chromium inside a host built on the ext-apps library,
against this server over stdio with a standalone emulator behind it: a job handed off shows as
pending, then as its image (the bytes the view got are the saved image's rendition, and the screen
shows them); "edit" spends once asked (the view's confirmation passed on to a server that asks
before spending more than a plain image) and shows the edit; the history shows as a grid; and the page
reaches nothing but its own host. Screenshots of each state go to build/view-screenshots/."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from luma_mcp.media.previews import make_preview
from luma_mcp.ui.app_tools import RENDITIONS

from ..support.browser import HOST_URL, apps_server, chromium, quiet_environment, view_host
from ..support.processes import Standalone, standalone_emulator

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

LATENCY = 600
"""Seconds each emulated job takes on the emulator's clock: nothing finishes until the test says."""


@pytest.fixture
def api() -> Iterator[Standalone]:
    with standalone_emulator("--latency", str(LATENCY), "--long-edge", "1024") as running:
        yield running


def mean_difference(shown: bytes, delivered: bytes) -> float:
    """Mean absolute difference per channel (0–255) between a screenshot and the image the view
    was given, scaled to the screenshot's size."""
    from PIL import Image, ImageChops, ImageStat

    screen = Image.open(io.BytesIO(shown)).convert("RGB")
    image = Image.open(io.BytesIO(delivered)).convert("RGB").resize(screen.size, Image.Resampling.LANCZOS)
    return sum(ImageStat.Stat(ImageChops.difference(screen, image)).mean) / 3


async def test_the_view_follows_a_job_shows_it_edits_it_and_lists_the_history(api: Standalone, tmp_path: Path) -> None:
    browser = chromium()
    environment = {**quiet_environment(api.server_environment(tmp_path)), "LUMA_MCP_CONFIRM_ABOVE_USD": "0.041"}
    async with apps_server(environment) as client, view_host(client, browser) as host:
        arguments = {"prompt": "a lighthouse at dusk, from the browser test", "aspect_ratio": "16:9"}
        handed_off = await client.call_tool("generate_image", arguments)
        assert handed_off.structured_content is not None
        first = handed_off.structured_content["generation_id"]
        assert handed_off.structured_content["state"] in ("queued", "processing")

        # Pending: the view follows the job itself (view_generations), no agent turn.
        await host.show(arguments, handed_off)
        pending = host.view.locator(f'[data-generation="{first}"] [data-role=pending]')
        await pending.wait_for()
        state = await pending.inner_text()
        assert state.startswith(("Queued", "Processing"))
        await host.shot("1-pending")

        api.admin("clock", advance=LATENCY + 1)
        image = host.view.locator(f'img[data-generation="{first}"][data-output="0"]')
        await image.wait_for()
        await host.view.locator('[data-action="edit"]').wait_for()
        await host.shot("2-finished")

        # The bytes delivered are the rendition of the saved file; the screen shows them.
        saved = Path(await host.view.locator(f'[data-generation="{first}"] [data-role=path]').inner_text())
        delivered = await host.image_bytes(f'img[data-generation="{first}"][data-output="0"]')
        edge, budget = RENDITIONS["display"]
        expected = make_preview(saved, max_edge=edge, budget=budget).data
        assert hashlib.sha256(delivered).hexdigest() == hashlib.sha256(expected).hexdigest()
        assert mean_difference(await image.screenshot(), delivered) < 12

        # Edit: the price on the button, one confirmation, then edit_image with this image as the source.
        edit = host.view.locator('[data-action="edit"]')
        assert "$0.0434" in await edit.inner_text()
        await edit.click()
        await host.view.locator("textarea[data-role=prompt]").fill("make it night, with a full moon")
        await host.view.locator('[data-do="continue"]').click()
        confirm = host.view.locator("[data-role=confirm]")
        assert "costs $0.0434" in await confirm.inner_text()
        await host.shot("3-confirm")
        await host.view.locator('[data-do="spend"]').click()
        await host.view.locator("[data-role=pending]").wait_for()
        calls = [call for call in (await host.log())["calls"] if call["name"] == "edit_image"]
        assert calls == [
            {
                "name": "edit_image",
                "arguments": {
                    "source": {"generation_id": first},
                    "model": "uni-1",
                    "preview": "none",
                    "prompt": "make it night, with a full moon",
                    "confirm_spend_usd": 0.0434,  # the user said yes in the view: the server does not ask again
                },
            }
        ]
        creates = [r for r in api.requests() if r["route"] == "create"]
        assert [r["body"]["type"] for r in creates] == ["image", "image_edit"]
        assert creates[1]["body"]["source"] == {"generation_id": first}
        api.admin("clock", advance=LATENCY + 1)
        edited = host.view.locator('[data-state="completed"] img[data-output="0"]')
        await edited.wait_for()
        second = await edited.get_attribute("data-generation")
        assert second not in (None, first)
        assert "make it night" in await host.view.locator(f'[data-generation="{second}"] .prompt').inner_text()
        await host.shot("4-edited")
        assert (await host.log())["context"]  # the model is told what the user did in the view

        # The history as a browsable grid, thumbnails with the prompt under each.
        listing = await client.call_tool("list_generations", {})
        await host.show({}, listing)
        tiles = host.view.locator("[data-role=grid] figure")
        await host.view.locator("[data-role=grid] figure img").nth(1).wait_for()
        assert await tiles.count() == 2
        captions = await host.view.locator("[data-role=grid] figcaption").all_inner_texts()
        assert captions == ["make it night, with a full moon", arguments["prompt"]]
        await host.shot("5-history")
        await host.page.evaluate("() => window.host.theme('dark')")
        await host.shot("6-history-dark")

        assert host.requests[0] == HOST_URL  # the recorder sees the page's own load...
        foreign = [url for url in host.requests if not url.startswith((HOST_URL, "data:", "about:"))]
        assert foreign == []  # ...and nothing else: no CDN, no storage host, no API
        assert [line for line in host.console if "Content Security Policy" in line] == []


async def test_candidates_show_as_a_grid_and_layers_toggle_over_a_checkerboard(api: Standalone, tmp_path: Path) -> None:
    browser = chromium()
    environment = quiet_environment(api.server_environment(tmp_path))
    async with apps_server(environment) as client, view_host(client, browser) as host:
        arguments = {"prompt": "a red kite over the sea", "count": 2}
        made = await client.call_tool("generate_image", arguments)
        assert made.structured_content is not None
        ids = [member["generation_id"] for member in made.structured_content["generations"]]
        await host.show(arguments, made)
        assert await host.view.locator("[data-role=pending]").count() == 2
        api.admin("clock", advance=LATENCY + 1)
        for generation_id in ids:
            await host.view.locator(f'img[data-generation="{generation_id}"][data-size="thumbnail"]').wait_for()
        # The second candidate picked: the actions now speak of it.
        await host.view.locator(f'figure[data-key="{ids[1]}/0"] .frame').click()
        await host.view.locator(f'figure.selected[data-key="{ids[1]}/0"]').wait_for()
        await host.shot("7-candidates")

        split_arguments = {"source": {"generation_id": ids[1]}}
        split = await client.call_tool("split_into_layers", split_arguments)
        assert split.structured_content is not None
        layered = split.structured_content["generation_id"]
        await host.show(split_arguments, split)
        await host.view.locator("[data-role=pending]").wait_for()
        api.admin("clock", advance=LATENCY + 1)
        stack = host.view.locator("[data-role=layers]")
        await stack.locator(f'img[data-generation="{layered}"][data-output="0"]').wait_for()
        layers = await stack.locator("img").count()
        assert layers > 1
        assert "checker" in (await stack.get_attribute("class") or "")
        front = stack.locator('img[data-output="0"]')
        assert "off" not in (await front.get_attribute("class") or "")
        await host.view.locator('input[data-layer="0"]').uncheck()
        assert "off" in (await front.get_attribute("class") or "")
        assert await host.view.locator('[data-action="split"]').count() == 0  # a layer is not split again
        assert "$0.0434" in await host.view.locator('[data-action="edit"]').inner_text()
        await host.shot("8-layers")
