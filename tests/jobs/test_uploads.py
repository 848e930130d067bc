"""Outputs kept in an S3-compatible bucket (moto on loopback, its authentication on), as a client
meets them: the right bytes under the browsable names, a link of our own with the set lifetime
(a tampered one refused), resources and the view read from the bucket, and a bucket that goes
away leaving the job unsaved until a later look saves it."""

from __future__ import annotations

import hashlib
import io
import json
from base64 import b64decode
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import uuid4

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.server import MCPServer
from mcp_types import BlobResourceContents, ImageContent

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.media.previews import make_preview
from luma_mcp.ui.app_tools import RENDITIONS
from luma_mcp.workspaces import AppState

from ..support.buckets import BUCKET, S3Server
from ..support.clocks import until_requested
from ..support.samples import KEY
from ..support.servers import make_server, shows_apps, structured, text

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder", "s3")]

DAYS = 2


def objects(s3: S3Server, prefix: str) -> dict[str, bytes]:
    """What the bucket holds under `prefix`, read with a client of its own (boto3, not ours)."""
    import boto3

    env = s3.environment()
    bucket = boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    listed = bucket.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/").get("Contents", [])
    return {o["Key"]: bucket.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def prefix_of(bucket_url: str) -> str:
    return bucket_url.removeprefix(f"s3://{BUCKET}/")


def seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode({**dict(parse_qsl(parts.query)), **changes})))


@pytest.fixture
def settings(emulator: Emulator, bucket_url: str) -> Settings:
    return Settings(api_key=KEY, base_url=emulator.base_url, output_dir=bucket_url, link_days=DAYS)  # pyright: ignore[reportArgumentType]


@pytest.fixture
async def host(server: MCPServer[AppState], mode: str) -> Any:
    """A client that shows the MCP App view (so `view_image` is served)."""
    async with Client(server, mode=mode, raise_exceptions=True, extensions=[shows_apps()]) as connected:  # pyright: ignore[reportArgumentType]
        yield connected


async def test_outputs_land_in_the_bucket_and_every_way_back_reads_the_object(
    host: Client, emulator: Emulator, s3: S3Server, bucket_url: str
) -> None:
    made = structured(await host.call_tool("generate_image", {"prompt": "a red fox in the snow"}))
    generation_id = made["generation_id"]
    [output] = made["outputs"]
    served = await emulator.output_bytes(generation_id)
    name = f"{made['created_at'][:10]}_a-red-fox-in-the-snow_{generation_id[:8]}_1.png"
    assert output["path"] == f"{bucket_url}/{name}"  # the browsable name, under the prefix
    assert objects(s3, prefix_of(bucket_url)) == {f"{prefix_of(bucket_url)}/{name}": served}  # the bytes served, once
    assert output["size_bytes"] == len(served)

    # Our link: the set lifetime, in the link and in the result; it serves the bytes, tampered it is refused.
    link = output["link"]
    assert dict(parse_qsl(urlsplit(link).query))["X-Amz-Expires"] == str(DAYS * 86400)
    assert abs(seconds(output["link_expires_at"]) - (emulator.clock.now() + DAYS * 86400)) < 5
    async with httpx2.AsyncClient() as http:
        assert (await http.get(link)).content == served
        for tampered in (
            with_query(link, **{"X-Amz-Expires": str(7 * 86400)}),  # a longer life than signed
            link.replace(name, name.replace("_1.png", "_2.png")),  # another object
            link.split("?")[0],  # the object without the signature
        ):
            assert (await http.get(tampered)).status_code == 403
    looked = await host.call_tool("get_generation", {"generation_id": generation_id})
    fresh = structured(looked)["outputs"][0]
    assert f"its link, until {fresh['link_expires_at']}: {fresh['link']}" in text(looked)  # told in words too

    # Resources and the view read the object: no second download from the API.
    [contents] = (await host.read_resource(f"luma://generations/{generation_id}/images/0.png")).contents
    assert isinstance(contents, BlobResourceContents)
    assert b64decode(contents.blob) == served
    answer = await host.call_tool("view_image", {"generation_id": generation_id})
    assert [b for b in answer.content if isinstance(b, ImageContent)]
    edge, budget = RENDITIONS["display"]
    assert (
        structured(answer)["sha256"]
        == hashlib.sha256(make_preview(io.BytesIO(served), max_edge=edge, budget=budget).data).hexdigest()
    )
    assert len(emulator.requests_to("download")) == 1

    # A later look signs a fresh link, its life counted from then; nothing is uploaded again.
    emulator.clock.advance(3600)
    again = structured(await host.call_tool("get_generation", {"generation_id": generation_id}))["outputs"][0]
    assert again["path"] == output["path"]
    assert seconds(again["link_expires_at"]) - seconds(output["link_expires_at"]) >= 3600 - 5
    assert len(objects(s3, prefix_of(bucket_url))) == 1


async def test_with_the_bucket_gone_the_job_is_unsaved_and_a_later_look_saves_it(
    host: Client, emulator: Emulator, s3: S3Server, bucket_url: str
) -> None:
    emulator.inject("download", "slow", delay=2)  # the job is made and its image on the way when the bucket goes
    results: list[Any] = []

    async def generate() -> None:
        results.append(await host.call_tool("generate_image", {"prompt": "a lighthouse at dusk"}))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(generate)
        await until_requested(emulator, "download")  # the download waits for its answer
        s3.stop()
        emulator.clock.advance(2)
    [made] = results
    unsaved = structured(made)
    [output] = unsaved["outputs"]
    assert unsaved["state"] == "completed"
    assert output["path"] is None
    assert output["link"] is None
    assert output["url"]  # the API's link still gives the image
    assert f"s3://{BUCKET}" in output["error"]
    assert "get_generation saves it" in output["error"]
    assert any("Nothing more was charged" in w for w in unsaved["warnings"])
    assert "get_generation" in text(made)

    s3.start()  # back (empty: nothing was written while it was away)
    looked = structured(await host.call_tool("get_generation", {"generation_id": unsaved["generation_id"]}))
    [saved] = looked["outputs"]
    assert saved["path"]
    assert saved["path"].startswith(bucket_url)
    assert saved["link"]
    assert list(objects(s3, prefix_of(bucket_url)).values()) == [await emulator.output_bytes(unsaved["generation_id"])]
    assert looked["warnings"] == []


def test_copies_over_http_with_a_bucket_but_no_shared_store_are_warned_at_start(bucket_url: str) -> None:
    from luma_mcp.jobs.uploads import OutputBucket

    http = Settings.load({"transport": "http"}, {"LUMA_MCP_OUTPUT_DIR": bucket_url})
    assert http.bucket is not None
    alone = OutputBucket(http.bucket, http, wall=lambda: 0.0, environ={"AWS_ACCESS_KEY_ID": "k"}).notes(None)
    assert any("LUMA_MCP_STORE_URL=redis://" in note for note in alone)
    shared = OutputBucket(http.bucket, http, wall=lambda: 0.0, environ={"AWS_ACCESS_KEY_ID": "k"})
    assert shared.notes("redis://redis.internal:6379/0") == []


async def test_temporary_credentials_give_links_their_real_lifetime_and_the_result_says_so(
    emulator: Emulator, settings: Settings, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    env = s3.environment()
    connection: dict[str, Any] = {
        "endpoint_url": env["AWS_ENDPOINT_URL"],
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        "region_name": env["AWS_REGION"],
    }
    iam, sts = boto3.client("iam", **connection), boto3.client("sts", **connection)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    role = iam.create_role(RoleName=f"luma-{uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="s3", PolicyDocument=json.dumps(everything))
    # A role's temporary credentials, as a container has.
    session = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="luma")["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", session["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", session["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", session["SessionToken"])
    # Their expiry as the container's credential endpoint states it (on the server's clock here).
    expiry = datetime.fromtimestamp(emulator.clock.now() + 6 * 3600, UTC).isoformat().replace("+00:00", "Z")
    monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", expiry)
    async with Client(make_server(settings, emulator), raise_exceptions=True) as client:  # pyright: ignore[reportArgumentType]
        made = structured(await client.call_tool("generate_image", {"prompt": "a short-lived heron"}))
    [output] = made["outputs"]
    assert output["link_expires_at"] == expiry[:19] + "Z"  # not the 2 days set: the credentials' end
    assert any(expiry[:19] in warning and "LUMA_MCP_LINK_DAYS" in warning for warning in made["warnings"])


async def test_an_image_resource_with_the_bucket_down_says_so_and_what_to_do(host: Client, s3: S3Server) -> None:
    made = structured(await host.call_tool("generate_image", {"prompt": "a heron on one leg"}))
    s3.stop()
    with pytest.raises(Exception, match=rf"s3://{BUCKET} could not give .* back.*try again later"):
        await host.read_resource(f"luma://generations/{made['generation_id']}/images/0.png")
