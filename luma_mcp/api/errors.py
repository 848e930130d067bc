"""Errors of the Luma Agents API client. Each message says what happened and what to do; none
quotes an HTTP library's own text (it can hold request headers, the key among them). The whole
project's tree, these and the rest, is drawn in `luma_mcp/errors.py`.

    LumaError
    ├── MissingApiKeyError      no usable key configured (none, unsendable, another provider's); nothing was sent
    ├── APIConnectionError      no usable answer to a request that is safe to repeat
    ├── OutcomeUnknownError     a create was sent and may have been queued: not resent (no double charge)
    ├── UploadError             a Files API upload did not end in a ready file
    └── APIStatusError          the API answered an error status (`status`, `detail`, `request_id`)
        ├── RateLimitError      429; nothing was queued (`retry_after`)
        └── ServerError         5xx
"""

from __future__ import annotations


class LumaError(Exception):
    """Base of every error this client raises."""


_UNUSABLE = "a space, a control character, or one outside ASCII such as a curly quote or an ellipsis from copying"
"""What makes a key unusable: it travels in an HTTP header, which carries ASCII only."""


class MissingApiKeyError(LumaError):
    """No usable key: none set, one with a character no header can carry (`unusable`), or another
    provider's (`other`: its prefix and whose it is). `header` names where a user's own key came
    from (BYOK), instead of the server's setting. Nothing was sent."""

    def __init__(
        self, *, unusable: bool = False, header: str | None = None, other: tuple[str, str] | None = None
    ) -> None:
        where = f"The key sent in the {header} header" if header is not None else "LUMA_AGENTS_API_KEY"
        if other is not None:
            prefix, whose = other
            fix = (
                "Send your Luma Agents API key there instead"
                if header is not None
                else 'Set LUMA_AGENTS_API_KEY to your Luma Agents API key (the "env" block of your MCP client '
                "config), or start the server with --emulator to try it offline"
            )
            super().__init__(
                f"{where} holds {whose} key (it starts with {prefix}), not a Luma Agents API key, so nothing was "
                f"sent. {fix}."
            )
            return
        if header is not None and unusable:
            super().__init__(
                f"The Luma Agents API key sent in the {header} header contains a character that cannot be in "
                f"an API key ({_UNUSABLE}), so it cannot be sent on. Send the key alone, exactly as Luma issued "
                "it (luma-api-...)."
            )
            return
        if header is not None:
            super().__init__(
                f"This server uses each user's own Luma Agents API key: send yours in the {header} header "
                "of every request (in your MCP client's HTTP headers)."
            )
            return
        problem = (
            f"The Luma Agents API key contains a character that cannot be in an API key ({_UNUSABLE}), "
            "so it cannot be sent"
            if unusable
            else "No Luma Agents API key is set"
        )
        super().__init__(
            f"{problem}. Set LUMA_AGENTS_API_KEY in this MCP server's environment "
            '(the "env" block of your MCP client config), or start the server with --emulator to try it offline.'
        )


def _with_id(text: str, request_id: str | None) -> str:
    return f"{text} (request id {request_id})" if request_id else text


class APIConnectionError(LumaError):
    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(_with_id(message, request_id))
        self.request_id = request_id


class OutcomeUnknownError(LumaError):
    """A create was sent and its outcome is not known: it may have been queued (and charged), so
    it is never sent again by itself (the API has no idempotency key: a second POST could pay for
    a second image). The message leads with what is known, then the safe next step (tell the
    user), then how to try again, `resend`, and its risk."""

    def __init__(
        self,
        what: str,
        *,
        request_id: str | None,
        status: int | None = None,
        queued: bool = False,
        resend: str = "send the same request again",
    ) -> None:
        """`what`: what is known, as a sentence's start (`The Luma API answered 502 (...) to this
        generation request`); `queued`: whether the job is known to be queued (a 2xx)."""
        charge = "it is charged as one image" if queued else "it costs one image at most (nothing if it was not queued)"
        super().__init__(
            f"{_with_id(what, request_id)}. It was not sent again, so {charge}. Next step: tell the user, and ask "
            f"whether to try again. To try again, {resend}: if this one was queued after all, that pays for a "
            "second image, and the API cannot list generations to check."
        )
        self.what = what
        self.request_id = request_id
        self.status = status
        self.queued = queued

    def resent_by(self, resend: str) -> OutcomeUnknownError:
        """The same error, saying how the caller tries again on purpose (e.g. a tool's argument)."""
        return OutcomeUnknownError(
            self.what, request_id=self.request_id, status=self.status, queued=self.queued, resend=resend
        )


class APIStatusError(LumaError):
    def __init__(self, status: int, detail: str, *, request_id: str | None, hint: str = "") -> None:
        text = f"Luma API error {status}: {detail}"
        if hint:
            text += f"{'' if text.endswith(('.', '!', '?')) else '.'} {hint}"
        super().__init__(_with_id(text, request_id))
        self.status = status
        self.detail = detail
        self.request_id = request_id


class RateLimitError(APIStatusError):
    def __init__(self, detail: str, *, request_id: str | None, retry_after: float | None) -> None:
        self.concurrency = "concurren" in detail.lower()
        why = (
            "Too many of this account's jobs are still running: wait for one to finish (wait_for_generation)."
            if self.concurrency
            else "Too many requests in the last minute."
        )
        wait = f" Try again in {retry_after:g} s." if retry_after is not None else ""
        super().__init__(429, detail, request_id=request_id, hint=f"Nothing was queued or charged. {why}{wait}")
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """A 5xx from the API."""


class UploadError(LumaError):
    """A Files API upload did not end in a ready file."""
