"""What one trip to the store costs at the least on this machine, right after the process and the
store sat idle (as a server does between a create and its first look): the floor under the store's
work per generating call in a process of its own (`store.py`'s "own process" line).

On a virtual machine an idle CPU is put to sleep, and the first system calls after it wakes take
many times their usual time (a `stat` 0.05 ms instead of 0.002 ms, seen here). A generating call
makes each of its trips after such a wait (the create's answer, the job's look, the download), so
each pays this, whatever the store does."""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

PAUSE_SECONDS = 0.2
"""Idle time before each timed trip (the effect is the same from 0.05 s to 2 s, seen here)."""
SAMPLES = 25


def _p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def sqlite_floor() -> tuple[float, float]:
    """A bare write transaction (one row in a WAL file, as a claim): p50 ms after idle, back to back."""
    with tempfile.TemporaryDirectory() as folder:
        connection = sqlite3.connect(Path(folder) / "floor.db", isolation_level=None)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("CREATE TABLE claims (key TEXT PRIMARY KEY, claim TEXT)")

        def write(number: int) -> float:
            started = time.perf_counter()
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT OR REPLACE INTO claims VALUES (?, ?)", (f"key-{number}", "x" * 200))
            connection.execute("COMMIT")
            return time.perf_counter() - started

        after_idle: list[float] = []
        for number in range(SAMPLES):
            time.sleep(PAUSE_SECONDS)
            after_idle.append(write(number))
        hot = [write(number) for number in range(300)]
        connection.close()
    return _p50_ms(after_idle), _p50_ms(hot)


def redis_floor(url: str) -> tuple[float, float]:
    """A bare `GET` with the `redis` client: p50 ms after idle, back to back."""
    import anyio
    from redis.asyncio import Redis

    async def measure() -> tuple[float, float]:
        client = Redis.from_url(url)  # pyright: ignore[reportUnknownMemberType]
        await client.set("floor", "x")

        async def trip() -> float:
            started = time.perf_counter()
            await client.get("floor")
            return time.perf_counter() - started

        after_idle: list[float] = []
        for _ in range(SAMPLES):
            await anyio.sleep(PAUSE_SECONDS)
            after_idle.append(await trip())
        hot = [await trip() for _ in range(300)]
        await client.aclose()
        return _p50_ms(after_idle), _p50_ms(hot)

    return anyio.run(measure)


def print_floor(url: str | None, trips: int) -> None:
    after_idle, hot = sqlite_floor() if url is None else redis_floor(url)
    what = "a bare write" if url is None else "a bare GET"
    print(
        f"{'  floor:':30s}{what} after {PAUSE_SECONDS:g} s idle {after_idle:.3f} ms (back to back {hot:.3f}): "
        f"{trips} trips >= {trips * after_idle:.2f} ms"
    )
