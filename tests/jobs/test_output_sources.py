"""Any output as a source: `{"generation_id", "output_index"}` picks one output of a job of several
(a layer), sent as its image since the API's own reference cannot say which output it means."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from mcp import Client

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator

from ..support.samples import b64, png_bytes
from ..support.servers import error_text, make_server, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

SOURCE = {"data": b64(png_bytes((80, 40))), "media_type": "image/png"}


async def edit_of_layer(client: Client, emulator: Emulator, index: int) -> tuple[dict[str, object], bytes]:
    """Split, then edit one layer: the edit's result and the bytes its request sent as the source."""
    split = structured(await client.call_tool("split_into_layers", {"source": SOURCE, "preview": "none"}))
    source = {"generation_id": split["generation_id"], "output_index": index}
    edit = structured(await client.call_tool("edit_image", {"prompt": "in red", "source": source}))
    sent = emulator.requests_to("create")[-1].body["source"]
    assert set(sent) == {"data", "media_type"}  # the layer's image, not a generation_id reference
    expected = await emulator.output_bytes(split["generation_id"], index)
    assert base64.b64decode(sent["data"]) == expected
    return edit, expected


async def test_a_layer_is_sent_as_its_image_and_the_result_says_so(client: Client, emulator: Emulator) -> None:
    edit, _ = await edit_of_layer(client, emulator, 1)
    assert edit["state"] == "completed"
    assert any("output 1 of generation" in warning for warning in edit["warnings"])  # type: ignore[union-attr]


async def test_where_nothing_is_saved_the_layer_comes_from_a_fresh_link(settings: Settings, emulator: Emulator) -> None:
    unkept = settings.model_copy(update={"save_outputs": False})
    async with Client(make_server(unkept, emulator)) as client:
        await edit_of_layer(client, emulator, 2)
    # Nothing kept and no preview asked of the split: the one download is the layer, for the edit.
    assert [r.path.rsplit("/", 1)[-1] for r in emulator.requests_to("download")][:1] == ["layer-2.png"]


async def test_a_saved_layer_changed_since_is_not_sent_but_fetched_afresh(client: Client, emulator: Emulator) -> None:
    split = structured(await client.call_tool("split_into_layers", {"source": SOURCE}))
    painted = Path(split["outputs"][1]["path"])
    painted.write_bytes(png_bytes((10, 10), color=(0, 255, 0)))  # the user painted over it
    source = {"generation_id": split["generation_id"], "output_index": 1}
    await client.call_tool("edit_image", {"prompt": "in red", "source": source})
    sent = base64.b64decode(emulator.requests_to("create")[-1].body["source"]["data"])
    assert sent == await emulator.output_bytes(split["generation_id"], 1)


async def test_the_only_output_of_a_job_is_referred_to_by_its_id(client: Client, emulator: Emulator) -> None:
    made = structured(await client.call_tool("generate_image", {"prompt": "a kite"}))
    source = {"generation_id": made["generation_id"], "output_index": 0}
    edit = structured(await client.call_tool("edit_image", {"prompt": "in red", "source": source}))
    assert emulator.requests_to("create")[-1].body["source"] == {"generation_id": made["generation_id"]}
    assert edit["warnings"] == []


async def test_an_output_that_does_not_exist_is_refused_before_anything_is_paid(
    client: Client, emulator: Emulator
) -> None:
    split = structured(await client.call_tool("split_into_layers", {"source": SOURCE}))
    source = {"generation_id": split["generation_id"], "output_index": 7}
    refused = await client.call_tool("edit_image", {"prompt": "in red", "source": source})
    text = error_text(refused)
    assert "source:" in text
    assert "3 output(s)" in text
    assert "nothing was sent" in text
    assert len(emulator.requests_to("create")) == 1  # the split only


async def test_an_output_index_without_a_generation_is_refused_naming_the_fix(client: Client) -> None:
    refused = await client.call_tool(
        "edit_image", {"prompt": "x", "source": {"url": "https://a.test/x.png", "output_index": 1}}
    )
    assert "output_index goes with generation_id" in error_text(refused)


async def test_where_the_api_forgot_a_job_its_saved_file_is_named_as_the_path_to_give(
    settings: Settings, emulator: Emulator
) -> None:
    """A job the API no longer knows (another process's emulator, or older than the API keeps
    jobs): the error names the saved file as the `path` source; a layer is sent from its file."""
    async with Client(make_server(settings, emulator)) as client:
        made = structured(await client.call_tool("generate_image", {"prompt": "a kite"}))
        split = structured(await client.call_tool("split_into_layers", {"source": SOURCE}))
    forgetful = Emulator(emulator.config)  # the same API, its jobs forgotten; the same output folder
    async with Client(make_server(settings, forgetful)) as client:
        edit = await client.call_tool(
            "edit_image", {"prompt": "in red", "source": {"generation_id": made["generation_id"]}}
        )
        looked = await client.call_tool("get_generation", {"generation_id": made["generation_id"]})
        layer = {"generation_id": split["generation_id"], "output_index": 1}
        layer_edit = structured(await client.call_tool("edit_image", {"prompt": "in red", "source": layer}))
    path = made["outputs"][0]["path"]
    source = json.dumps({"path": path})
    assert error_text(edit).endswith(
        f"The API no longer knows generation {made['generation_id']}, but this server saved its image: give source "
        f"as {source} instead (nothing was charged)."
    )
    assert error_text(looked).endswith(
        f"The API no longer knows generation {made['generation_id']}, but this server saved its image at {path}: "
        f"to edit or split it, give source {source}."
    )
    assert layer_edit["state"] == "completed"
    sent = forgetful.requests_to("create")[-1].body["source"]
    assert base64.b64decode(sent["data"]) == await emulator.output_bytes(split["generation_id"], 1)
    assert forgetful.spent_usd("luma-api-test-key") == pytest.approx(0.0434)  # the layer's edit only
