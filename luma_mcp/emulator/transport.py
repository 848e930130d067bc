"""An `httpx2` transport into an in-process emulator that fails the way a network does.

`httpx2.ASGITransport` alone would surface an emulated dropped connection as the app's exception;
here it becomes what a socket gives: `ConnectError` before the request is sent (fault `refuse`),
`RemoteProtocolError` when the server cuts before or during the body (`drop`, `truncate`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import anyio
import httpx2

from .wire import ConnectionDropped, route_of

if TYPE_CHECKING:
    from .handle import Emulator


class _CutStream(httpx2.AsyncByteStream):
    """A body that ends with the connection: the bytes that arrived, then the error."""

    def __init__(self, sent: bytes, expected: int, request: httpx2.Request) -> None:
        self._sent = sent
        self._expected = expected
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._sent:
            yield self._sent
        raise httpx2.RemoteProtocolError(
            "peer closed connection without sending complete message body "
            f"(received {len(self._sent)} bytes, expected {self._expected})",
            request=self._request,
        )


class EmulatorTransport(httpx2.AsyncBaseTransport):
    """Routes every request, whatever its host, to one emulator's app."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._asgi = httpx2.ASGITransport(app=emulator.app)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        route = route_of(request.method, request.url.path)
        fault = self._emulator.peek_fault(route)
        if fault is not None and fault.kind == "refuse":
            self._emulator.take_fault(route)
            raise httpx2.ConnectError("Connection refused (emulated)", request=request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        read_timeout = timeouts.get("read")
        slow = fault is not None and fault.kind == "slow"
        if read_timeout is None or not slow or not self._emulator.clock.frozen:
            return await self._send(request)
        # An answer made slow on a clock that tests drive: the client's read timeout runs on that
        # clock too, so it times out without any real waiting. (Nothing else in-process is slow.)
        answer: list[httpx2.Response | Exception] = []
        async with anyio.create_task_group() as race:

            async def send() -> None:
                try:
                    answer.append(await self._send(request))
                except Exception as exc:  # noqa: BLE001 - handed to the caller as is, outside the race
                    answer.append(exc)
                race.cancel_scope.cancel()

            race.start_soon(send)
            await self._emulator.clock.sleep(read_timeout)
            race.cancel_scope.cancel()
        if not answer:
            raise httpx2.ReadTimeout("Timed out waiting for the answer (emulated)", request=request)
        if isinstance(answer[0], Exception):
            raise answer[0]
        return answer[0]

    async def _send(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return await self._asgi.handle_async_request(request)
        except ConnectionDropped as drop:
            if not drop.sent:
                raise httpx2.RemoteProtocolError(
                    "Server disconnected without sending a response (emulated)", request=request
                ) from None
            return httpx2.Response(
                drop.status,
                headers=drop.headers,
                stream=_CutStream(drop.sent, drop.expected, request),
                request=request,
            )
