"""A team server over Streamable HTTP with a bucket (moto on loopback, its authentication on): the
bucket turns saving on, and BYOK users each get a prefix of their own that no tool or resource of
another user reaches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from mcp_types import ImageContent

from luma_mcp.workspaces import key_label

from ..support.buckets import S3Server
from ..support.processes import Standalone, http_server, standalone_emulator
from ..support.servers import text
from ..test_http_app import mcp_client
from ..ui.test_app_tools_over_http import apps_client

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

ALICE = "luma-api-alice-key"
BOB = "luma-api-bob-key"


@pytest.fixture
def api() -> Iterator[Standalone]:
    with standalone_emulator("--latency", "0", "--long-edge", "256") as running:
        yield running


async def test_each_user_has_a_prefix_no_other_user_reaches_through_any_tool_or_resource(
    api: Standalone, tmp_path: Path, s3: S3Server, bucket_url: str
) -> None:
    env = {
        "HOME": str(tmp_path),
        "LUMA_BASE_URL": api.base_url,
        "LUMA_MCP_BYOK": "1",
        "LUMA_MCP_OUTPUT_DIR": bucket_url,  # and no LUMA_MCP_SAVE_OUTPUTS: the bucket turns saving on
        "LUMA_MCP_WAIT_SECONDS": "5",
        **s3.environment(),
    }
    with http_server(env=env) as base_url:
        async with mcp_client(base_url, {"X-Luma-Agents-Api-Key": ALICE}) as alice:
            made = await alice.call_tool("generate_image", {"prompt": "alice's secret plan"})
            assert made.structured_content is not None, text(made)
            generation_id = made.structured_content["generation_id"]
            [output] = made.structured_content["outputs"]
            assert output["path"].startswith(f"{bucket_url}/{key_label(ALICE)}/")  # her own prefix
            uri = f"luma://generations/{generation_id}/images/0.png"
            assert (await alice.read_resource(uri)).contents  # she reads it back
        async with httpx2.AsyncClient() as http:
            assert (await http.get(output["link"])).status_code == 200  # her link works for whoever holds it

        async with mcp_client(base_url, {"X-Luma-Agents-Api-Key": BOB}) as bob:
            listed = await bob.call_tool("list_generations", {})
            assert listed.structured_content is not None
            assert listed.structured_content["generations"] == []
            for tool, arguments in (
                ("get_generation", {"generation_id": generation_id}),
                ("wait_for_generation", {"generation_id": generation_id}),
                ("edit_image", {"prompt": "make it mine", "source": {"generation_id": generation_id}}),
                ("edit_image", {"prompt": "make it mine", "source": {"path": output["path"]}}),
            ):
                answer = await bob.call_tool(tool, arguments)
                assert answer.is_error, (tool, text(answer))
                assert not [b for b in answer.content if isinstance(b, ImageContent)]
                if "path" not in arguments.get("source", {}):  # (that one quotes bob's own input back)
                    assert key_label(ALICE) not in text(answer)
            for resource in (uri, f"luma://generations/{generation_id}"):
                with pytest.raises(Exception, match=r"No generation|no saved image"):
                    await bob.read_resource(resource)
        async with apps_client(
            base_url, "auto", {"X-Luma-Agents-Api-Key": BOB}
        ) as bob_viewing:  # the view's own tool, with bob's key
            answer = await bob_viewing.call_tool("view_image", {"generation_id": generation_id})
            assert answer.is_error, text(answer)
            assert not [b for b in answer.content if isinstance(b, ImageContent)]
