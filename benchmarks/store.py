"""What a long history costs: with N generations made before (written as the server of the version
under test keeps them: a `history.jsonl` it imports, for versions with a store), against an empty
history, in temporary HOMEs:

- spawn → `tools/list` answered (median of runs taken in turns), and the first start's import;
- `list_generations` answered, p50 over stdio, without and with a `query`;
- the server's memory (RSS) once it has listed;
- CPU per generating call handed off at once (`LUMA_MCP_WAIT_SECONDS=0`), full minus empty;
- with a store: its own work per generating call (create, wait, save), p50, in-process on the
  emulator's clock, on SQLite and on Redis over loopback (a `redis-server` is started if found),
  with its round trips; the same store calls replayed alone, back to back and after a short idle
  time each (the CPU caches cold: `_replay`); and what one SQLite call costs on the event loop's worker thread;
- the same work in a server process of its own ("own process"), spawned over stdio as hosts do
  and timed inside by `_store_timing.py`, against the emulator in another process, on real time;
- a reservation and a running total read with as many charges this month as generations.

    uv run python benchmarks/store.py [--generations 100000] [--runs 15] [--calls 50] [--code PATH]
        [--store-only]

`--code PATH` runs the servers from another checkout (e.g. main, for the figures before); run it
from a folder without a `luma_mcp` in it (`cd /tmp`), or `python -m` finds this checkout's first.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _floors import print_floor  # beside this script
from _history import fill, make_home
from _process import cpu_seconds, memory_mb
from _replay import Trace, replay

from tests.support.processes import StdioServer, child, stdio_server  # the tests' stdio client

QUERY = "harbor lantern"
IDLE_SECONDS = 0.003
"""Idle time before each store call replayed "after idle" (`_replay`): the caches go cold."""
HERE = Path(__file__).resolve().parent


def environment(home: Path, code: Path | None, **extra: str) -> dict[str, str]:
    env = {
        "HOME": str(home), "LUMA_MCP_OUTPUT_DIR": str(home / "images"), "LUMA_MCP_EMULATOR": "1",
        "LUMA_MCP_EMULATOR_LATENCY": "0", "LUMA_MCP_WAIT_SECONDS": "0", "LUMA_MCP_LOG_LEVEL": "WARNING",
        "XDG_STATE_HOME": str(home / "state"), **extra,
    }  # fmt: skip
    return {**env, "PYTHONPATH": str(code)} if code else env


@contextmanager
def server(home: Path, code: Path | None) -> Iterator[StdioServer]:
    with stdio_server(environment(home, code)) as running:
        yield running


def spawn_to_tools(home: Path, code: Path | None) -> float:
    started = time.perf_counter()
    with server(home, code) as running:
        running.answer(running.send("tools/list", {}))
        return time.perf_counter() - started


def p50_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:7.3f} ms (p90 {statistics.quantiles(samples, n=10)[-1] * 1000:.3f})"


def over_stdio(home: Path, code: Path | None, calls: int) -> dict[str, Any]:
    """List timings, memory and CPU per generating call of one long-lived server."""
    with server(home, code) as running:
        while running.tool("list_generations", {}, seconds=600).get("warnings"):  # until imported
            pass
        plain, query = [], []
        for _ in range(calls):
            for samples, arguments in ((plain, {}), (query, {"query": QUERY})):
                started = time.perf_counter()
                running.tool("list_generations", arguments)
                samples.append(time.perf_counter() - started)
        pid = running.child.process.pid
        memory = memory_mb(pid)
        running.tool("generate_image", {"prompt": "warm up"})
        before = cpu_seconds(pid)
        for number in range(calls):
            running.tool("generate_image", {"prompt": f"a benchmark fox number {number}"})
        cpu = (cpu_seconds(pid) - before) / calls
    return {"plain": plain, "query": query, "rss": memory, "cpu": cpu}


def store_work(generations: int, url: str | None, calls: int) -> None:
    """Time spent in the store per generating call (create, wait, save), in-process, on SQLite
    (`url` None) or the Redis at `url`."""
    import anyio

    anyio.run(_store_work, generations, url, calls)


async def _store_work(generations: int, url: str | None, calls: int) -> None:
    import logging

    from mcp import Client
    from pydantic import SecretStr

    from luma_mcp.config import Settings
    from luma_mcp.emulator import Emulator, EmulatorConfig
    from luma_mcp.server import build_server
    from luma_mcp.store import base
    from luma_mcp.store.location import open_store
    from luma_mcp.store.redis import RedisStore
    from luma_mcp.store.sqlite import SqliteStore
    from tests.support.clocks import VirtualTime

    logging.disable(logging.INFO)
    spent: list[float] = []
    trace: Trace = []
    methods = [
        n for n, method in vars(base.Account).items() if not n.startswith("_") and inspect.iscoroutinefunction(method)
    ]
    backend = "sqlite" if url is None else "redis"
    with tempfile.TemporaryDirectory() as folder:
        os.environ["XDG_STATE_HOME"] = folder
        output = Path(folder) / "images"
        store = open_store(url, output)
        account = store.account(base.SERVER_ACCOUNT)
        await fill(account, generations, output)
        timed = type(account)
        originals = {name: getattr(timed, name) for name in methods}

        def timing(name: str, original: Any) -> Any:
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                trace.append((name, args[1:], kwargs))
                started = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    spent.append(time.perf_counter() - started)

            return wrapper

        for name, original in originals.items():
            setattr(timed, name, timing(name, original))
        # A round trip: one call of the backend's own (SQLite's connection, Redis's client).
        trips: list[int] = [0]
        own = SqliteStore.run if url is None else RedisStore.guarded

        async def counted_trip(*args: Any, trips: list[int] = trips, own: Any = own, **kwargs: Any) -> Any:
            trips[0] += 1
            return await own(*args, **kwargs)

        setattr(type(store), own.__name__, counted_trip)
        emulator = Emulator(EmulatorConfig(long_edge=64, latency=0))
        settings = Settings(
            api_key="luma-api-benchmark", base_url=emulator.base_url, output_dir=output,  # pyright: ignore[reportArgumentType]
            store_url=SecretStr(url) if url else None,
        )  # fmt: skip
        mcp_server = build_server(
            settings,
            transport=emulator.transport(),
            timekeeper=VirtualTime(emulator.clock),
            clock=emulator.clock.now,
        )
        per_call: list[float] = []
        traces: list[Trace] = []
        counted = 0
        async with Client(mcp_server) as client:
            await client.call_tool("list_generations", {})
            for number in range(calls):
                spent.clear()
                trace.clear()
                trips[0] = 0
                await client.call_tool("generate_image", {"prompt": f"a stored fox {number}"})
                per_call.append(sum(spent))
                traces.append(list(trace))
                counted = len(spent)
        for name, original in originals.items():
            setattr(timed, name, original)
        setattr(type(store), own.__name__, own)
        print(
            f"{backend + ' store work per call:':30s}{p50_ms(per_call)}, {counted} store calls each, "
            f"{trips[0]} round trips"
        )
        # The same calls again, alone (`_replay`): the time above also holds whatever the server's
        # other tasks ran while a call awaited its answer, and its other work evicted from the caches.
        print(f"{backend + ' same calls, alone:':30s}{p50_ms(await replay(store, traces))}")
        cold = await replay(store, traces, IDLE_SECONDS)
        print(f"{backend + ' same, each after idle:':30s}{p50_ms(cold)} ({IDLE_SECONDS * 1000:g} ms idle: caches cold)")
        if isinstance(store, SqliteStore):
            hops = []
            for _ in range(2000):
                started = time.perf_counter()
                await store.run(lambda connection: connection.execute("SELECT 1").fetchone(), short=False)
                hops.append(time.perf_counter() - started)
            inline = []
            connection = store._connection  # pyright: ignore[reportPrivateUsage]
            assert connection is not None
            for _ in range(2000):
                started = time.perf_counter()
                connection.execute("SELECT 1").fetchone()
                inline.append(time.perf_counter() - started)
            print(f"{'sqlite call, worker thread:':30s}{p50_ms(hops)}; in place {p50_ms(inline)}")
        await store.aclose()


def own_process(generations: int, url: str | None, calls: int, warm_up: int = 5) -> int:
    """The store's work per generating call in a server process of its own, spawned over stdio as
    hosts do and timed inside by `_store_timing.py`, against the emulator in another process, on real
    time (one look at each job, 2 s after its create): p50 over the calls after `warm_up`."""
    import anyio

    from luma_mcp.store.base import SERVER_ACCOUNT
    from luma_mcp.store.location import default_database, open_store
    from luma_mcp.store.sqlite import SqliteStore
    from tests.support.processes import standalone_emulator

    emulator = ("--latency", "0", "--long-edge", "64", "--rpm", "100000", "--concurrency", "1000", "--stock-images")
    with tempfile.TemporaryDirectory() as folder, standalone_emulator(*emulator) as api:
        home = make_home(Path(folder).resolve(), "own", 0)
        images, timing = home / "images", home / "timing.jsonl"
        env = {**api.server_environment(home), "XDG_STATE_HOME": str(home / "state"), "STORE_TIMING_FILE": str(timing)}
        if url is not None:
            env["LUMA_MCP_STORE_URL"] = url
        # The history, put where the server will find it: its output folder's file, or the Redis.
        store = SqliteStore(default_database(images, env)) if url is None else open_store(url, images)

        async def prefill() -> None:
            await fill(store.account(SERVER_ACCOUNT), generations, images)
            await store.aclose()

        anyio.run(prefill)
        with stdio_server(env, [str(HERE / "_store_timing.py")]) as running:
            running.tool("list_generations", {})
            for number in range(calls):
                made = running.tool("generate_image", {"prompt": f"a fox of its own process {number}"}, seconds=60)
                assert made.get("state") == "completed", made
        looks = [request["route"] for request in api.requests()].count("get") / calls
        lines = [json.loads(line) for line in timing.read_text().splitlines()]
    measured = [line for line in lines if line["tool"] == "generate_image"][warm_up:]

    def spread(values: list[int]) -> str:  # e.g. "12", or "12–13" if calls differ
        return f"{min(values)}" if min(values) == max(values) else f"{min(values)}–{max(values)}"

    label, counts = f"{'sqlite' if url is None else 'redis'} own process:", [len(line["calls"]) for line in measured]
    print(
        f"{label:30s}{p50_ms([line['seconds'] for line in measured])}, {spread(counts)} store calls each, "
        f"{spread([line['trips'] for line in measured])} round trips, {looks:g} GET of the job per call"
    )
    by_call: dict[str, list[float]] = {}
    for line in measured:
        for name, microseconds in line["calls"]:
            by_call.setdefault(name, []).append(microseconds / 1000)
    parts = [
        f"{name} {statistics.median(times):.3f}" for name, times in by_call.items() if statistics.median(times) > 0.02
    ]
    print(f"{'  of which (ms, p50):':30s}{', '.join(parts)}")
    return max(line["trips"] for line in measured)


def spending_at_scale(charges: int, redis_url: str | None) -> None:
    """A reservation and a running total read, p50, with `charges` charges made this month before."""
    import anyio

    anyio.run(_spending_at_scale, charges, redis_url)


async def _spending_at_scale(count: int, redis_url: str | None) -> None:
    import secrets

    from luma_mcp.store.base import Caps, Charge
    from luma_mcp.store.location import open_store

    for backend, url in (("sqlite", None), ("redis", redis_url)):
        if backend == "redis" and url is None:
            continue
        with tempfile.TemporaryDirectory() as folder:
            os.environ["XDG_STATE_HOME"] = folder
            store = open_store(url, Path(folder) / "images")
            account = store.account("spending-at-scale")
            for start in range(0, count, 5000):
                made = [
                    Charge(secrets.token_hex(8), "call", 1.0, f"2027-01-{1 + number % 28:02d}", "generate_image",
                           "uni-1", 40_400)
                    for number in range(start, min(start + 5000, count))
                ]  # fmt: skip
                await account.reserve(made, Caps())
            caps = Caps(daily_micro=10**15, monthly_micro=10**15)
            reserving: list[float] = []
            reading: list[float] = []
            for _ in range(200):
                started = time.perf_counter()
                await account.reserve([Charge(secrets.token_hex(8), "call", 2.0, "2027-01-15", "generate_image",
                                              "uni-1", 40_400)], caps)  # fmt: skip
                reserving.append(time.perf_counter() - started)
                started = time.perf_counter()
                await account.totals("2027-01-15")
                reading.append(time.perf_counter() - started)
            label = f"{backend}, {count} charges this month:"
            print(f"{label:30s}reserve {p50_ms(reserving)}; total {p50_ms(reading)}")
            await store.aclose()


@contextmanager
def redis_server() -> Iterator[str | None]:
    import shutil

    from tests.support.stores import free_port

    program = shutil.which("redis-server")
    if program is None:
        yield None
        return
    port = free_port()
    args = [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with child(args, env={"PATH": os.environ.get("PATH", "")}, stdout=subprocess.PIPE) as running:
        assert running.stdout is not None
        deadline = time.monotonic() + 30
        while "Ready to accept connections" not in running.stdout.next(deadline, "redis-server did not start"):
            pass
        yield f"redis://127.0.0.1:{port}/0"


def history_costs(generations: int, runs: int, calls: int, code: Path | None) -> None:
    """Start-up, lists, memory and CPU of servers over stdio, with and without the history."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        empty, full = make_home(root, "empty", 0), make_home(root, "full", generations)
        log_mb = (full / "images/.luma-agents/history.jsonl").stat().st_size >> 20
        print(f"history: {generations} generations ({log_mb} MB of log)")
        started = time.perf_counter()
        with server(full, code) as running:
            answered = running.tool("list_generations", {}, seconds=600)
            first_answer = time.perf_counter() - started
            while answered.get("warnings"):  # an import under way: the list says so
                answered = running.tool("list_generations", {}, seconds=600)
        whole = time.perf_counter() - started
        print(f"first start, spawn → a list:  {first_answer:7.2f} s; the whole history listed after {whole:.2f} s")
        for home in (empty, full):
            spawn_to_tools(home, code)  # warm caches
        times: dict[Path, list[float]] = {empty: [], full: []}
        for _ in range(runs):
            for home in (empty, full):
                times[home].append(spawn_to_tools(home, code))
        ratio = statistics.median(times[full]) / statistics.median(times[empty])
        print(f"spawn → tools/list, empty:    {p50_ms(times[empty])}")
        print(f"spawn → tools/list, full:     {p50_ms(times[full])}  ratio {ratio:.3f} (goal <= 1.05)")
        measured = {home: over_stdio(home, code, calls) for home in (empty, full)}
        for label, key in (("list_generations:", "plain"), (f"list_generations {QUERY!r}:", "query")):
            print(f"{label:30s}{p50_ms(measured[full][key])} (empty history: {p50_ms(measured[empty][key])})")
        extra_rss = measured[full]["rss"] - measured[empty]["rss"]
        rss = measured[full]["rss"]
        print(f"server RSS:                   {rss:7.1f} MB, {extra_rss:+.1f} MB over empty (goal <= +20)")
        extra_cpu = (measured[full]["cpu"] - measured[empty]["cpu"]) * 1000
        print(f"CPU per generating call:      {measured[full]['cpu'] * 1000:7.2f} ms, {extra_cpu:+.2f} ms over empty")


def main(generations: int, runs: int, calls: int, code: Path | None, store_only: bool) -> None:
    if not store_only:
        history_costs(generations, runs, calls, code)
    if code is None:
        with redis_server() as redis_url:
            for url in (None,) if redis_url is None else (None, redis_url):
                store_work(generations, url, calls)
                # On Redis, a database of its own: the run above has put calls into the same account.
                trips = own_process(generations, url and url.removesuffix("/0") + "/1", calls)
                print_floor(url, trips)
            if redis_url is None:
                print("redis:                        skipped (no redis-server)")
            spending_at_scale(generations, redis_url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="What a long history costs the server.")
    parser.add_argument("--generations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--code", type=Path, default=None, help="run the servers from this checkout (figures before)")
    parser.add_argument("--store-only", action="store_true", help="only the store's own figures (from the store on)")
    options = parser.parse_args()
    main(options.generations, options.runs, options.calls, options.code, options.store_only)
