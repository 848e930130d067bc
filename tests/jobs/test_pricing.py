"""What a request costs: the published table, checked against what the emulator (its own reading of
the contract) charges, for every model, type and number of reference images."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from luma_mcp.api import GenerationRequest, ImageRef, LayeringOptions
from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.jobs.pricing import MAX_LAYERS, Price, price_of, request_price, settled_price

from ..support.samples import KEY, b64, png_bytes
from ..support.servers import make_server, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

PUBLISHED = {
    ("uni-1", "image"): 0.0404,
    ("uni-1", "image_edit"): 0.0434,
    ("uni-1-max", "image"): 0.1,
    ("uni-1-max", "image_edit"): 0.103,
}


@pytest.mark.parametrize(("model", "kind"), list(PUBLISHED))
@pytest.mark.parametrize("references", [0, 1, 8])
async def test_every_result_says_what_the_api_charged(
    client: Client, emulator: Emulator, model: str, kind: str, references: int
) -> None:
    refs = [{"data": b64(png_bytes(color=(i, 0, 0))), "media_type": "image/png"} for i in range(references)]
    arguments: dict[str, object] = {"prompt": "a kite", "model": model, "image_ref": refs}
    if kind == "image_edit":
        arguments["source"] = {"data": b64(png_bytes()), "media_type": "image/png"}
    result = await client.call_tool("edit_image" if kind == "image_edit" else "generate_image", arguments)
    data = structured(result)
    assert data["cost_usd"] == pytest.approx(PUBLISHED[(model, kind)] + 0.003 * references)
    assert data["cost_is_estimate"] is False
    assert emulator.spent_usd(KEY) == pytest.approx(data["cost_usd"])  # the emulator's own table agrees
    assert result.meta is not None
    cost = result.meta["cost"]
    assert (cost["usd"], cost["model"], cost["provider"]) == (data["cost_usd"], model, "luma")
    assert cost["generations"] == [{"generation_id": data["generation_id"], "usd": data["cost_usd"], "final": True}]


async def test_a_look_says_what_a_job_cost_but_bills_nothing(client: Client) -> None:
    made = structured(await client.call_tool("generate_image", {"prompt": "a kite"}))
    looked = await client.call_tool("get_generation", {"generation_id": made["generation_id"]})
    assert structured(looked)["cost_usd"] == pytest.approx(0.0404)
    assert looked.meta is None or "cost" not in looked.meta  # hosts that bill would charge twice


async def test_a_refunded_failure_costs_nothing(client: Client, emulator: Emulator) -> None:
    emulator.fail_next("content_moderated")
    data = structured(await client.call_tool("generate_image", {"prompt": "a kite"}))
    assert data["state"] == "failed"
    assert data["cost_usd"] == 0
    assert emulator.spent_usd(KEY) == 0


def test_a_split_is_an_estimate_per_layer_and_its_worst_case_until_done() -> None:
    request = GenerationRequest(type="layering", source=ImageRef(generation_id="x"), layering=LayeringOptions())
    assert request_price(request) == Price(43_400 * MAX_LAYERS, estimate=True)
    two_k = request.model_copy(update={"layering": LayeringOptions(resolution="2k")})
    assert request_price(two_k).usd == pytest.approx(0.868)
    assert price_of("uni-1", "layering", resolution="1k", layers=3).usd == pytest.approx(0.1302)
    kept = settled_price(Price(40_400), state="failed", failure_code="budget_exhausted")
    assert kept == Price(40_400)  # not one of the refunded failures


async def test_a_copy_of_the_server_that_did_not_make_a_job_says_its_price_is_an_estimate(
    settings: Settings, emulator: Emulator, tmp_path: Path
) -> None:
    unkept = settings.model_copy(update={"save_outputs": False})
    refs = [{"data": b64(png_bytes(color=(i, 0, 0))), "media_type": "image/png"} for i in range(3)]
    async with Client(make_server(unkept, emulator)) as maker:
        made = structured(await maker.call_tool("generate_image", {"prompt": "a kite", "image_ref": refs}))
    assert (made["cost_usd"], made["cost_is_estimate"]) == (pytest.approx(0.0494), False)
    look = {"generation_id": made["generation_id"]}
    async with Client(make_server(unkept, emulator)) as same_store:  # a replica on the same store knows it
        known = structured(await same_store.call_tool("get_generation", look))
    elsewhere = unkept.model_copy(update={"output_dir": tmp_path / "elsewhere"})  # its own store
    async with Client(make_server(elsewhere, emulator)) as other:  # it never saw the request
        seen = structured(await other.call_tool("get_generation", look))
    assert (known["cost_usd"], known["cost_is_estimate"]) == (pytest.approx(0.0494), False)
    assert seen["cost_is_estimate"] is True
