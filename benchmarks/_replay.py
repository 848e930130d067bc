"""The store calls a generating call made, replayed alone (`store.py`'s "alone" lines): each call's
sequence, back to back, in an account of its own, with nothing else running in between.

With `idle`, the replay waits that long (untimed) before each store call, as a server does between a
call's trips (the API's answer, the job's end: seconds). On a shared virtual machine the store's code
and data are then no longer in the CPU's caches (other tenants' work took them; 3 ms is enough here,
as is 3 ms of other work in this process), and each call pays for fetching them again. That cost is
what separates the "alone" figure from the figure of the server at work."""

from __future__ import annotations

import time
from typing import Any

import anyio

Trace = list[tuple[str, tuple[Any, ...], dict[str, Any]]]
"""A generating call's store calls, in order: each method's name and its arguments."""


async def replay(store: Any, traces: list[Trace], idle: float = 0.0) -> list[float]:
    """Seconds spent in the store calls of each trace, replayed in an account of its own."""
    spent: list[float] = []
    for number, recorded in enumerate(traces):
        account = store.account(f"replay-{idle}-{number}")
        took = 0.0
        for method, positional, named in recorded:
            if idle:
                await anyio.sleep(idle)
            started = time.perf_counter()
            await getattr(account, method)(*positional, **named)
            took += time.perf_counter() - started
        spent.append(took)
    return spent
