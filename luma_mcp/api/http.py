"""`SharedHttpClient`: the server's one `httpx2.AsyncClient`, opened on first use; and where the API answers.

Opening a client builds its TLS context (20–40 ms of certificate loading). Hosts spawn MCP servers
often and wait for `tools/list`, so that cost moves to the first request, which is a call that
waits on a 30–60 s job anyway. Everyone shares the one client and its connection pool.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

import anyio
import httpx2

DEFAULT_BASE_URL = "https://agents.lumalabs.ai/v1"
"""The API's address, `/v1` included (`LUMA_BASE_URL` overrides it, as in the official SDK)."""


class SharedHttpClient:
    def __init__(self, factory: Callable[[], httpx2.AsyncClient]) -> None:
        self._factory = factory
        self._client: httpx2.AsyncClient | None = None
        self._lock = anyio.Lock()

    async def get(self) -> httpx2.AsyncClient:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = self._factory()
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> SharedHttpClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()


MIN_REQUEST_SECONDS = 1.0
"""The least time a request is given, even when its caller's deadline has all but passed."""


def timeout_within(limits: httpx2.Timeout, seconds: float) -> httpx2.Timeout:
    """`limits` with every wait capped at `seconds` (at least `MIN_REQUEST_SECONDS`): a request made
    near its caller's deadline gives up by then instead of after the full per-read timeout."""
    seconds = max(seconds, MIN_REQUEST_SECONDS)

    def cap(value: float | None) -> float:
        return seconds if value is None else min(value, seconds)

    return httpx2.Timeout(
        connect=cap(limits.connect), read=cap(limits.read), write=cap(limits.write), pool=cap(limits.pool)
    )
