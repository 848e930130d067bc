"""Run by `store.py` ("own process") in place of `python -m luma_mcp`: this server over stdio as hosts
spawn it, with the store's work timed inside it. Each public method of the backends' `Account` classes
is wrapped (an outermost call only: Redis's methods call `flush`), and so is the backend's own trip
(SQLite's `run`, Redis's `guarded`), to count them. After each `tools/call`, before its answer is
sent, one JSON line goes to the file `$STORE_TIMING_FILE`: the tool, the seconds spent in store calls
since the line before, and each of those calls (its name and µs), and the round trips. Work that went on after an answer
(in the background) counts towards the next call's line.

The first look at a new job comes `POLL_INTERVAL` after the create, without the random 0–2 s more
(as `_spawned.OURS_EVEN_POLLS`): that wait is idle time, and only makes the run longer.

    STORE_TIMING_FILE=/tmp/t.jsonl python benchmarks/_store_timing.py [server flags]
"""

from __future__ import annotations

import contextvars
import inspect
import json
import os
import time
from typing import Any

import luma_mcp.api.client as api_client
from luma_mcp import server as server_module
from luma_mcp.cli import main
from luma_mcp.store import base
from luma_mcp.store.redis import RedisAccount, RedisStore
from luma_mcp.store.sqlite import SqliteAccount, SqliteStore

api_client.FIRST_POLL_SPREAD = 0.0
inside = contextvars.ContextVar("inside", default=False)
spent = [0.0, 0]  # seconds in store calls, round trips
calls: list[tuple[str, int]] = []  # each store call since the last line: its name, µs


def timed(name: str, original: Any) -> Any:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if inside.get():  # a store call within one: part of the outer call's time
            return await original(*args, **kwargs)
        token = inside.set(True)
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            took = time.perf_counter() - started
            spent[0] += took
            calls.append((name, round(took * 1e6)))
            inside.reset(token)

    return wrapper


def counted(original: Any) -> Any:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        spent[1] += 1
        return await original(*args, **kwargs)

    return wrapper


for account in (SqliteAccount, RedisAccount):
    for name in [
        name
        for name, method in vars(base.Account).items()
        if not name.startswith("_") and inspect.iscoroutinefunction(method)
    ]:
        setattr(account, name, timed(name, getattr(account, name)))
SqliteStore.run = counted(SqliteStore.run)
RedisStore.guarded = counted(RedisStore.guarded)
out = open(os.environ["STORE_TIMING_FILE"], "a", buffering=1)  # noqa: SIM115  # one line at a time, until exit


async def per_call(ctx: Any, call_next: Any) -> Any:
    answered = await call_next(ctx)
    if ctx.method == "tools/call":
        line = {"tool": (ctx.params or {}).get("name"), "seconds": spent[0], "trips": spent[1], "calls": calls}
        out.write(json.dumps(line) + "\n")
        spent[:] = [0.0, 0]
        calls.clear()
    return answered


def build_timed(*args: Any, **kwargs: Any) -> Any:
    built = build_server(*args, **kwargs)
    built.middleware.insert(0, per_call)  # outermost: around the others' work too
    return built


build_server = server_module.build_server
server_module.build_server = build_timed  # what `main` imports when it serves
raise SystemExit(main())
