"""Errors of the Luma Agents API client. Each message says what happened and what to do.

LumaError
├── MissingApiKeyError         no key configured; nothing was sent
├── APIConnectionError         no usable answer (connection failed, timed out, body unreadable)
│   └── OutcomeUnknownError    a create was sent but its answer was lost: it may have been queued
└── APIStatusError             the API answered with an error status (`status`, `detail`, `request_id`)
    ├── RateLimitError         429; nothing was queued (`retry_after`)
    └── ServerError            5xx
"""

from __future__ import annotations


class LumaError(Exception):
    """Base of every error this client raises."""


class MissingApiKeyError(LumaError):
    def __init__(self) -> None:
        super().__init__(
            "No Luma Agents API key is set. Set LUMA_AGENTS_API_KEY in this MCP server's environment "
            '(the "env" block of your MCP client config), or start the server with --emulator to try it offline.'
        )


class APIConnectionError(LumaError):
    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message if request_id is None else f"{message} (request id {request_id})")
        self.request_id = request_id


class OutcomeUnknownError(APIConnectionError):
    """Not retried on purpose: a second POST could create (and charge) a second generation."""


class APIStatusError(LumaError):
    def __init__(self, status: int, detail: str, *, request_id: str | None, hint: str = "") -> None:
        text = f"Luma API error {status}: {detail}"
        text += f" {hint}" if hint else ""
        super().__init__(f"{text} (request id {request_id})" if request_id else text)
        self.status = status
        self.detail = detail
        self.request_id = request_id


class RateLimitError(APIStatusError):
    def __init__(self, detail: str, *, request_id: str | None, retry_after: float | None) -> None:
        wait = f" Try again in {retry_after:g} s." if retry_after is not None else ""
        super().__init__(429, detail, request_id=request_id, hint=f"Nothing was queued or charged.{wait}")
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """A 5xx from the API."""
