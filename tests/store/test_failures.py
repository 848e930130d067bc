"""When the store fails: a paid request is refused before it is sent, with a message that names the
store (never its password) and says nothing was charged; reads go on with what they can read and
say so; a database of a newer version is refused, an older one brought up to date."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from pydantic import SecretStr

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator
from luma_mcp.errors import ConfigError
from luma_mcp.store import sqlite as sqlite_store
from luma_mcp.store.base import Caps, Charge, Claim, Totals
from luma_mcp.store.location import default_database, open_store
from luma_mcp.store.records import HistoryEntry
from luma_mcp.store.sqlite import SqliteStore
from luma_mcp.store.sqlite_schema import SCHEMA_VERSION, migrate

from ..support.servers import error_text, make_server, structured
from ..support.stores import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]

PASSWORD = "hunter2-store-secret"


async def test_an_unreachable_redis_refuses_paid_calls_and_reads_go_on_saying_so(
    settings: Settings, emulator: Emulator, api: httpx2.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"  # nothing listens there
    earlier = (await api.post("/generations", json={"prompt": "a fox made before"})).json()["id"]
    emulator.clock.advance(60)
    async with Client(make_server(settings.model_copy(update={"store_url": SecretStr(url)}), emulator)) as client:
        refused = await client.call_tool("generate_image", {"prompt": "a fox"})
        listed = await client.call_tool("list_generations", {})
        looked = structured(await client.call_tool("get_generation", {"generation_id": earlier}))
    message = error_text(refused)
    assert "redis://:***@127.0.0.1" in message
    assert "nothing was charged" in message
    assert len(emulator.requests_to("create")) == 1  # the test's own: the call sent none
    assert not listed.is_error
    assert structured(listed)["generations"] == []
    assert "cannot be used" in structured(listed)["warnings"][0]
    assert looked["state"] == "completed"  # a look works without the store, and says what it missed
    assert looked["outputs"][0]["path"]
    assert any("without the history" in warning for warning in looked["warnings"])
    shown = message + str(listed.content) + str(looked) + caplog.text
    assert PASSWORD not in shown


async def test_a_redis_that_lost_the_stores_script_runs_each_trip_once(redis_url: str, tmp_path: Path) -> None:
    """A restarted Redis (or `SCRIPT FLUSH`) forgets the script every trip runs: the first trip
    after it loads the script again and is run once, with the writes it carried, none lost or doubled."""
    import redis

    store = open_store(redis_url, tmp_path / "images")
    account = store.account("server")
    day = "2027-01-15"
    assert await account.reserve([Charge("a", "call-a", 1.8e9, day, "generate_image", "uni-1", 40_400)], Caps()) is None
    await account.attach_job("a", "job-a", later=True)
    await account.settle_job("job-a", 30_000, estimate=False, later=True)
    with redis.Redis.from_url(redis_url) as client:  # pyright: ignore[reportUnknownMemberType]
        client.script_flush()
    assert await account.reserve([Charge("b", "call-b", 1.8e9, day, "generate_image", "uni-1", 40_400)], Caps()) is None
    assert await account.totals(day) == Totals(30_000 + 40_400, 30_000 + 40_400)
    await store.aclose()


async def test_a_redis_that_lost_its_data_indexes_the_saved_entry_again(redis_url: str, tmp_path: Path) -> None:
    """A Redis restarted without persistence (or flushed) between a job's create and its save has
    forgotten the created entry: the saved one is found by its words all the same."""
    import redis

    store = open_store(redis_url, tmp_path / "images")
    account = store.account("server")
    created = HistoryEntry(generation_id="job-1", prompt="a red fox", created_at="2026-01-01T00:00:00Z",
                           recorded_at="2027-01-01T00:00:00.000000Z")  # fmt: skip
    await account.put_entries([created])
    with redis.Redis.from_url(redis_url) as client:  # pyright: ignore[reportUnknownMemberType]
        client.flushdb()
    await account.put_entries([created.model_copy(update={"recorded_at": "2027-01-01T00:01:00.000000Z"})])
    assert [entry.generation_id for entry in await account.recent(["fox"], 10, 0)] == ["job-1"]
    await store.aclose()


def test_a_store_url_that_cannot_be_used_is_refused_at_start_without_its_password() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.load({}, {"LUMA_MCP_STORE_URL": f"postgres://app:{PASSWORD}@db:5432/x", "HOME": "/nowhere"})
    assert "LUMA_MCP_STORE_URL='postgres://app:***@db:5432/x'" in str(refused.value)
    assert "redis://" in str(refused.value)
    assert PASSWORD not in str(refused.value)


async def test_a_locked_database_refuses_paid_calls_before_sending(
    settings: Settings, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "BUSY_SECONDS", 0.05)
    path = default_database(settings.output_dir)
    await SqliteStore(path).account("server").legacy_offset("make the file")
    other_program = sqlite3.connect(path, isolation_level=None)
    other_program.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    try:
        async with Client(make_server(settings, emulator)) as client:
            refused = await client.call_tool("generate_image", {"prompt": "a fox"})
    finally:
        other_program.execute("ROLLBACK")
        other_program.close()
    assert "locked" in error_text(refused)
    assert "nothing was charged" in error_text(refused)
    assert emulator.requests_to("create") == []


async def test_a_database_of_an_earlier_schema_is_brought_up_to_date(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path, isolation_level=None)
    migrate(old, target=1)  # as version 1 left it: a generation kept, no search index yet
    old.execute(
        "INSERT INTO generations (account, generation_id, created, recorded_at, words, entry) "
        "VALUES ('server', 'g1', 1.0, 'x', 'a red fox g1', '{\"generation_id\": \"g1\", \"prompt\": \"a red fox\"}')"
    )
    # A job in flight when the server is upgraded: an identical call after it is handed the job.
    in_flight = Claim("created", "old-server", 1.8e9, 1.8e9 + 600, generation_id="g1")
    old.execute(
        "INSERT INTO claims (account, key, state, owner, token, at, expires, generation_id) VALUES "
        "('server', 'request', 'created', 'old-server', ?, 1.8e9, ?, 'g1')",
        (in_flight.token, 1.8e9 + 600),
    )
    old.close()
    store = SqliteStore(path)
    account = store.account("server")
    found = await account.recent(["fox"], 10, 0)
    held = await account.claim("request", Claim("creating", "new-server", 1.8e9 + 1, 1.8e9 + 61))
    await account.job_finished("g1", 1.8e9 + 30, 1.8e9 + 330)
    finished = await account.claim("request", Claim("creating", "new-server", 1.8e9 + 31, 1.8e9 + 91))
    await store.aclose()
    assert [entry.prompt for entry in found] == ["a red fox"]
    assert held == in_flight
    assert finished is not None
    assert (finished.finished_at, finished.expires) == (1.8e9 + 30, 1.8e9 + 330)
    with sqlite3.connect(path) as reopened:
        assert reopened.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_spending_kept_before_the_running_totals_counts_after_the_upgrade(tmp_path: Path) -> None:
    """A file of schema 3 (charges, no running totals): its day's and month's totals are what its
    charges sum to, and a cap is checked against them."""
    path = tmp_path / "spending.db"
    old = sqlite3.connect(path, isolation_level=None)
    migrate(old, target=3)
    rows = [("server", "a", "2027-01-15", 40_400), ("server", "b", "2027-01-15", 40_400),
            ("server", "c", "2027-01-02", 100_000), ("aaaaaaaaaaaaaaaa", "d", "2027-01-15", 7)]  # fmt: skip
    old.executemany(
        "INSERT INTO charges (account, charge_id, call_id, at, day, month, tool, model, micro_usd, settled, "
        "estimate) VALUES (?, ?, 'call', 1.0, ?, substr(?, 1, 7), 'generate_image', 'uni-1', ?, 1, 0)",
        [(account, charge_id, day, day, micro) for account, charge_id, day, micro in rows],
    )
    old.close()
    store = SqliteStore(path)
    account = store.account("server")
    assert await account.totals("2027-01-15") == Totals(80_800, 180_800)
    late = Charge("late", "call", 2.0, "2027-01-15", "generate_image", "uni-1", 40_400)
    assert await account.reserve([late], Caps(monthly_micro=200_000)) == Totals(80_800, 180_800)
    assert await store.account("aaaaaaaaaaaaaaaa").totals("2027-01-15") == Totals(7, 7)
    # A server of the earlier version still running beside this one writes the charges alone: the
    # totals follow (kept by the file's triggers, not by this version's code).
    with sqlite3.connect(path, isolation_level=None) as older:
        older.execute("UPDATE charges SET micro_usd = 0, settled = 1 WHERE charge_id = 'a'")  # refunded
        older.execute("DELETE FROM charges WHERE charge_id = 'c'")
    assert await account.totals("2027-01-15") == Totals(40_400, 40_400)
    await store.aclose()


async def test_a_transaction_a_failure_left_open_is_not_joined_by_later_writes(tmp_path: Path) -> None:
    """A COMMIT that failed (a full disk) may leave the connection inside a transaction: the next
    write rolls it back and commits its own, rather than joining one nobody commits, which would
    lose every later write and keep other processes locked out."""
    path = tmp_path / "stuck.db"
    store = SqliteStore(path)
    account = store.account("server")
    await account.legacy_offset("warm-up")  # opens the connections
    stuck = store._in_place  # pyright: ignore[reportPrivateUsage]
    assert stuck is not None
    stuck.execute("BEGIN IMMEDIATE")  # as a failed COMMIT leaves it
    await account.put_entries([HistoryEntry(generation_id="g1", prompt="a kept fox", recorded_at="2027-01-01")])
    other = SqliteStore(path)
    found = await other.account("server").entry("g1")  # another process: neither locked out nor blind
    assert found is not None
    assert found.prompt == "a kept fox"
    await other.aclose()
    await store.aclose()


async def test_a_database_of_a_newer_version_is_refused_not_misread(tmp_path: Path) -> None:
    from luma_mcp.errors import StoreError

    path = tmp_path / "newer.db"
    with sqlite3.connect(path) as newer:
        newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer version of this server") as refused:
        await SqliteStore(path).account("server").recent([], 10, 0)
    assert str(path) in str(refused.value)


def test_the_default_database_lives_in_the_state_folder_never_beside_the_pictures(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    pictures = tmp_path / "Pictures" / "luma-agents"
    environ = {"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    database = default_database(pictures, environ)
    assert database.parent == tmp_path / "state" / "luma-agents-mcp"
    assert not database.is_relative_to(pictures)
    assert default_database(tmp_path / "other", environ) != database  # one per output folder
