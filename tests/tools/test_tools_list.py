"""The tools as a client lists them: names, flat schemas equal to the argument models, annotations."""

from __future__ import annotations

import pytest
from mcp import Client

from luma_mcp.tools.arguments import (
    EditImageArgs,
    GenerateImageArgs,
    GetGenerationArgs,
    GetSpendingArgs,
    ListGenerationsArgs,
    SplitIntoLayersArgs,
    UploadImageArgs,
    WaitForGenerationArgs,
)
from luma_mcp.tools.result_models import GenerationList, GenerationResult, SpendingResult, UploadResult

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

STALE = "the stored schemas are stale: uv run python -m tests.support.stored_schemas"

MODELS = {
    "generate_image": GenerateImageArgs,
    "edit_image": EditImageArgs,
    "split_into_layers": SplitIntoLayersArgs,
    "get_generation": GetGenerationArgs,
    "wait_for_generation": WaitForGenerationArgs,
    "list_generations": ListGenerationsArgs,
    "get_spending": GetSpendingArgs,
    "upload_image": UploadImageArgs,
}


async def test_the_tools_publish_their_argument_models_flat(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == set(MODELS)
    for name, model in MODELS.items():
        schema = tools[name].input_schema
        assert schema == model.model_json_schema(), f"{name}: {STALE}"
        assert set(schema["properties"]) == set(model.model_fields), name  # flat: no nesting parameter


async def test_every_field_is_described_for_the_model(client: Client) -> None:
    for tool in (await client.list_tools()).tools:
        assert tool.description
        assert tool.title
        for field, spec in tool.input_schema["properties"].items():
            assert spec.get("description"), f"{tool.name}.{field} has no description"
            assert len(spec["description"]) < 160, f"{tool.name}.{field}: keep it to one short sentence"


async def test_results_are_published_as_the_output_schema(client: Client) -> None:
    for tool in (await client.list_tools()).tools:
        expected = {"list_generations": GenerationList, "upload_image": UploadResult, "get_spending": SpendingResult}
        assert tool.output_schema == expected.get(tool.name, GenerationResult).model_json_schema(), (
            f"{tool.name}: {STALE}"
        )


async def test_annotations_say_which_tools_generate_and_which_only_look(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    for name in ("generate_image", "edit_image"):
        hints = tools[name].annotations
        assert hints is not None
        assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint, hints.open_world_hint) == (
            False,
            False,
            False,
            True,
        )
    for name in ("get_generation", "wait_for_generation", "list_generations"):
        hints = tools[name].annotations
        assert hints is not None
        assert hints.read_only_hint is True
    spending = tools["get_spending"].annotations
    assert spending is not None
    assert (spending.read_only_hint, spending.open_world_hint) == (True, False)  # free: asks the store, not the API
    uploads = tools["upload_image"].annotations
    assert uploads is not None
    assert (uploads.read_only_hint, uploads.destructive_hint, uploads.idempotent_hint) == (False, False, True)
