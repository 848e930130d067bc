"""`s3://bucket/prefix` as a setting, what a record may name in it, and what the AWS variables say
of how long a link really lives."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path

import pytest

from luma_mcp.config import ConfigError, Settings
from luma_mcp.media.bucket import MULTIPART_BYTES, Bucket, BucketLocation, credentials_life
from luma_mcp.media.outputs import SavedFile

WEEK = timedelta(days=7)
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("url", "named"),
    [("s3://My_Bucket/x", "bucket name"), ("s3://ok-bucket/a/../b", "prefix"), ("s3://ok-bucket/a b", "prefix")],
)
def test_a_bad_bucket_url_is_refused_at_start_naming_what_to_write(url: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named) as refused:
        Settings.load({}, {"LUMA_MCP_OUTPUT_DIR": url})
    assert "s3://bucket/prefix" in str(refused.value)


def test_a_bucket_turns_saving_on_over_http_and_cannot_be_named_with_saving_off() -> None:
    over_http = Settings.load({"transport": "http"}, {"LUMA_MCP_OUTPUT_DIR": "s3://team-images/luma/"})
    assert str(over_http.output_dir) == "s3://team-images/luma"
    assert over_http.keeps_files
    assert over_http.readable_dirs == []
    with pytest.raises(ConfigError, match="LUMA_MCP_SAVE_OUTPUTS"):
        Settings.load({"transport": "http", "save_outputs": False}, {"LUMA_MCP_OUTPUT_DIR": "s3://team-images"})


def test_a_record_names_an_object_of_this_prefix_only() -> None:
    alice = BucketLocation.parse("s3://team-images/luma").child("alice")
    assert alice.key_of("s3://team-images/luma/alice/2026-12-02_fox_1.png") == "luma/alice/2026-12-02_fox_1.png"
    for foreign in (
        "s3://team-images/luma/bob/2026-12-02_fox_1.png",  # another user's
        "s3://team-images/luma/alice/../bob/2026-12-02_fox_1.png",  # climbing out
        "s3://team-images/luma/alice/sub/2026-12-02_fox_1.png",  # below the prefix
        "s3://other-bucket/luma/alice/2026-12-02_fox_1.png",
        "/home/alice/2026-12-02_fox_1.png",
    ):
        assert alice.key_of(foreign) is None, foreign


def test_links_live_as_set_with_a_long_lived_key() -> None:
    life = credentials_life(WEEK, now=NOW, environ={"AWS_ACCESS_KEY_ID": "AKIA…", "AWS_SECRET_ACCESS_KEY": "s"})
    assert life.note is None
    assert life.link_expiry(NOW, WEEK) == NOW + WEEK.total_seconds()


def test_temporary_credentials_that_expire_sooner_give_the_real_lifetime_and_say_so() -> None:
    environ = {
        "AWS_ACCESS_KEY_ID": "ASIA…",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_SESSION_TOKEN": "t",
        "AWS_CREDENTIAL_EXPIRATION": "2026-12-02T18:00:00Z",
    }
    life = credentials_life(WEEK, now=NOW, environ=environ)
    assert life.link_expiry(NOW, WEEK) == NOW + 6 * 3600
    assert life.note is not None
    assert "2026-12-02T18:00:00Z" in life.note
    assert "6.0 h" in life.note
    assert "LUMA_MCP_LINK_DAYS" in life.note


@pytest.mark.parametrize(
    "environ",
    [
        {"AWS_ACCESS_KEY_ID": "ASIA…", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"},  # expiry unknown
        {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x"},  # a container's role
    ],
)
def test_credentials_of_unknown_or_short_life_are_said_to_cut_links_short(environ: dict[str, str]) -> None:
    life = credentials_life(WEEK, now=NOW, environ=environ)
    assert life.note is not None
    assert "not after 7 day(s)" in life.note


@pytest.mark.anyio
@pytest.mark.usefixtures("s3")
async def test_a_large_image_goes_up_in_parts_and_a_second_of_the_same_name_beside_it(
    tmp_path: Path, bucket_url: str
) -> None:
    data = os.urandom(MULTIPART_BYTES * 2 + 12345)  # three parts
    spooled = tmp_path / "spooled.png"
    spooled.write_bytes(data)
    record = SavedFile(
        index=0, path=str(spooled), media_type="image/png", size_bytes=len(data), sha256=sha256(data).hexdigest()
    )
    place = BucketLocation.parse(bucket_url)
    bucket = Bucket(place.bucket)
    first = await bucket.upload(record, place, "2026-12-02_a-big-fox_0123abcd_1")
    second = await bucket.upload(record.model_copy(update={"size_bytes": 10}), place, "2026-12-02_a-big-fox_0123abcd_1")
    assert first.path == f"{bucket_url}/2026-12-02_a-big-fox_0123abcd_1.png"
    assert second.path == f"{bucket_url}/2026-12-02_a-big-fox_0123abcd_1-2.png"  # never over another
    for saved in (first, second):
        key = place.key_of(saved.path)
        assert key is not None
        assert await bucket.read(key, max_bytes=len(data)) == data
