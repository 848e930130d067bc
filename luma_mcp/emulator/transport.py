"""An `httpx2` transport into an in-process emulator that fails the way a network does.

`httpx2.ASGITransport` alone would surface an emulated dropped connection as the app's exception;
here it becomes what a socket gives: `ConnectError` before the request is sent (fault `refuse`),
`RemoteProtocolError` when the server cuts before or during the body (`drop`, `truncate`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httpx2

from .app import ConnectionDropped, route_of

if TYPE_CHECKING:
    from .service import Emulator


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
