"""The stores tests run against: a real Redis (Debian's `redis-server`, started on a free loopback
port for the session, emptied before each test that uses it) and SQLite files in the test's own
state folder."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from luma_mcp.store.base import Store
from luma_mcp.store.location import open_store

from .processes import child
from .system import required_program


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """`redis-server` on loopback for the session, keeping nothing on disk; its URL."""
    program = required_program("redis-server", package="redis-server")
    port = free_port()
    args = [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with child(args, env={"PATH": os.environ.get("PATH", "")}) as running:
        assert running.stdout is not None
        deadline = time.monotonic() + 30
        while "Ready to accept connections" not in running.stdout.next(deadline, "redis-server did not start"):
            pass
        yield f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis, emptied."""
    import redis

    with redis.Redis.from_url(redis_server) as client:  # pyright: ignore[reportUnknownMemberType]
        client.flushall()
    return redis_server


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """Each backend in turn: the default SQLite file (None), then Redis."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("redis_url")


Opener = Callable[[], Store]


@pytest.fixture
async def opener(store_url: str | None, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens the backend again as another process would (its own connection); closes them all."""
    opened: list[Store] = []

    def open_one() -> Store:
        opened.append(open_store(store_url, tmp_path / "images"))
        return opened[-1]

    yield open_one
    for store in opened:
        await store.aclose()
