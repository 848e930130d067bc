"""split_into_layers through a real client: what it sends, what it saves, how it previews and prices."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client
from PIL import Image

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator

from ..support.samples import b64, png_bytes
from ..support.servers import assert_fits_the_host, inline_images, make_server, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

SOURCE = {"data": b64(png_bytes((80, 40))), "media_type": "image/png"}


async def test_a_split_sends_only_what_the_contract_documents_and_saves_every_layer(
    client: Client, emulator: Emulator
) -> None:
    result = await client.call_tool("split_into_layers", {"source": SOURCE})
    data = structured(result)
    [create] = emulator.requests_to("create")
    assert (create.body["type"], create.body["model"]) == ("layering", "uni-1")
    assert create.body["layering"] == {"resolution": "1k"}  # always sent: the price depends on it
    assert create.body["source"]["data"] == SOURCE["data"]
    assert set(create.body) == {"type", "model", "source", "layering"}  # no prompt when none was given
    layers = [output["layer"] for output in data["outputs"]]
    assert [layer["index"] for layer in layers] == [0, 1, 2]
    assert (layers[-1]["label"], layers[-1]["alpha_hint"]) == ("background", "none")  # front to back
    for output in data["outputs"]:
        path = Path(output["path"])
        assert path.read_bytes() == await emulator.output_bytes(data["generation_id"], output["index"])
        assert f"_layer-{output['index']}-{output['layer']['label']}" in path.name  # kept together, in order
        with Image.open(path) as image:
            assert image.mode == "RGBA"
    assert "Layer 2 (background, alpha none)" in result.content[0].text  # type: ignore[union-attr]


async def test_a_prompt_and_2k_are_sent_when_given_and_priced_per_layer(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool(
        "split_into_layers", {"source": SOURCE, "prompt": "keep the text apart", "resolution": "2k"}
    )
    [create] = emulator.requests_to("create")
    assert (create.body["prompt"], create.body["layering"]) == ("keep the text apart", {"resolution": "2k"})
    data = structured(result)
    assert data["cost_usd"] == pytest.approx(3 * 0.0868)
    assert data["cost_is_estimate"] is True  # no published price for a split
    assert result.meta is not None
    cost = {"usd": pytest.approx(3 * 0.0868), "model": "uni-1", "provider": "luma", "estimate": True}
    assert {k: result.meta["cost"][k] for k in cost} == cost
    assert result.meta["cost"]["generations"][0]["final"] is False  # no published price: it may change
    assert emulator.spent_usd("luma-api-test-key") == pytest.approx(data["cost_usd"])


async def test_keys_the_api_adds_to_a_layer_are_kept_and_passed_on(client: Client, emulator: Emulator) -> None:
    emulator.configure(layer_extra={"bounds": {"x": 4, "y": 8, "width": 32, "height": 16}})
    data = structured(await client.call_tool("split_into_layers", {"source": SOURCE}))
    assert all(o["layer"]["bounds"] == {"x": 4, "y": 8, "width": 32, "height": 16} for o in data["outputs"])


@pytest.mark.parametrize("ratio", ["1:1", "3:1", "1:3"])
@pytest.mark.parametrize("layers", [1, 10])
async def test_one_preview_shows_the_whole_split_within_the_host_s_budget(
    settings: Settings, emulator: Emulator, layers: int, ratio: str
) -> None:
    emulator.configure(long_edge=2048)
    emulator.script_next(layers=layers)
    width, height = (int(r) for r in ratio.split(":"))
    source = {"data": b64(png_bytes((width * 600, height * 600))), "media_type": "image/png"}
    async with Client(make_server(settings, emulator)) as client:
        result = await client.call_tool("split_into_layers", {"source": source, "resolution": "2k", "preview": "full"})
    assert len(structured(result)["outputs"]) == layers
    assert len(inline_images(result)) == 1  # one sheet for many layers; a lone layer is its own preview
    assert_fits_the_host(result, "full")
