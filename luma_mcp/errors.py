"""Every error this server raises that a caller can catch, in one tree. Each message names the
cause, the fix, and whether anything was sent or charged; none quotes an HTTP library's own text
(it can hold request headers, the key among them). A tool turns any of them into a tool error the
model reads (`tools/handlers.py`); anything else becomes the SDK's generic error.

    LumaError                   base of them all (defined with the API client, which imports nothing of ours)
    ├── MissingApiKeyError      no usable key (none set, one with a character no header can carry, or another
    │                           provider's: sk-, sk-ant-, ...); nothing sent
    ├── APIConnectionError      no usable answer to a request that was safe to repeat, after the retries
    ├── OutcomeUnknownError     a create was sent and may be queued (and charged); never resent by itself
    ├── UploadError             a Files API upload did not end in a ready file; no image was made
    ├── APIStatusError          the API answered an error status: `status`, its `detail`, the request id
    │   ├── RateLimitError      429: nothing queued or charged; `retry_after` says when to try again
    │   └── ServerError         5xx to a request that was safe to repeat, after the retries
    ├── ConfigError             a setting has a value we cannot use: the server does not start, the setting is named
    ├── InputError              an image input cannot be used (`field` names it); nothing was sent
    ├── OutputError             a finished image could not be downloaded or saved; `retry` says what may help.
    │                           Never reaches a tool: the result lists it as that output's `error`, link kept
    ├── ResendRefusedError      an identical create lost its answer moments ago: not sent (it may be queued)
    ├── CreateInFlightError     an identical create is being sent by another process right now: not sent
    ├── StoreError              the store (history, reuse ledger, uploads) is locked or unreachable: a paid
    │                           request is not sent; reads go on with what can be read, said in the result
    ├── ShuttingDownError       the server is shutting down: no new job started; a job under way keeps running
    ├── BudgetExceededError     a call's price would pass a spending cap: nothing sent; spent, cap, price and fix named
    ├── SpendNotConfirmedError  a call above LUMA_MCP_CONFIRM_ABOVE_USD could not be asked about: nothing sent;
    │                           the quote and how to confirm it (`confirm_spend_usd`) named
    ├── SpendDeclinedError      the user declined (or dismissed) the question before a big spend: nothing sent
    ├── ReusedJobError          an identical earlier job was reused but could not be looked at: its id is named
    └── SavedInsteadError       the API no longer knows a generation this server saved: its file is named, to
                                give as a `path` input instead; nothing was charged
"""

from __future__ import annotations

import json
from typing import Literal

from .api.errors import (
    APIConnectionError,
    APIStatusError,
    LumaError,
    MissingApiKeyError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    UploadError,
)


class ConfigError(LumaError):
    """A setting has a value we cannot use; the message names it and what to set."""


class InputError(LumaError):
    """An image input cannot be used; nothing was sent."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


Retry = Literal["refresh", "again", "fallback", "no"]


class OutputError(LumaError):
    """A finished image could not be downloaded or saved; the message says which and why.

    `retry` says what may help: `refresh` the URL (it expired or was refused), download `again`
    (the connection dropped or the bytes came damaged), save in the temporary `fallback` folder
    (this one could not be written: a full disk, no permission, a read-only file system), or
    nothing (`no`)."""

    def __init__(self, message: str, *, retry: Retry = "no") -> None:
        super().__init__(message)
        self.retry: Retry = retry


class ResendRefusedError(LumaError):
    """An identical create lost its answer moments ago: it may be queued, so this one is not sent.
    `resend` says how the caller sends it anyway, on purpose."""

    def __init__(self, seconds_ago: float, *, resend: str = "call again with new_variation=true") -> None:
        super().__init__(
            f"An identical request {seconds_ago:.0f} s ago was sent but its answer was lost, so it may already "
            "be queued (and charged). This one was not sent. To send it anyway, accepting the risk of a "
            f"second charge, {resend}."
        )
        self.seconds_ago = seconds_ago

    def resent_by(self, resend: str) -> ResendRefusedError:
        """The same refusal, saying how the caller sends it anyway (e.g. a tool's arguments)."""
        return ResendRefusedError(self.seconds_ago, resend=resend)


class CreateInFlightError(LumaError):
    """Another process (another copy of the server, or another host's server on the same folder)
    is sending an identical create right now, and it did not answer within this call's wait."""

    def __init__(self) -> None:
        super().__init__(
            "An identical request is being sent right now by another copy of this server, so this one was not "
            "sent (nothing was charged). Call again in a few seconds to get that generation back; to make a "
            "separate image, call again with new_variation=true."
        )


class StoreError(LumaError):
    """The store (`LUMA_MCP_STORE_URL`: the history, the reuse ledger, the upload cache) is locked or
    unreachable. A generating call raises it before its create, so nothing is sent or charged; a read
    (a look, a list) goes on with what it can read and says so in its result. The message names the
    store with any password hidden, never the URL as given."""

    def __init__(self, store: str, problem: str) -> None:
        super().__init__(
            f"The store {store} cannot be used ({problem}). No request was sent and nothing was charged. "
            "Check that it is reachable (or, for SQLite, that no other program holds it locked), or set "
            "LUMA_MCP_STORE_URL; then call again."
        )
        self.problem = problem


class ShuttingDownError(LumaError):
    """The server began to shut down before this call's job was created: none was."""

    def __init__(self) -> None:
        super().__init__("This server is shutting down; call again in a moment (the job, if any, keeps running).")


class BudgetExceededError(LumaError):
    """A generating call whose price would take this key's spending past a cap
    (`LUMA_MCP_BUDGET_DAILY_USD` or `LUMA_MCP_BUDGET_MONTHLY_USD`): refused before anything is sent.
    The message names what was spent, the cap, the price, and what to do (the setting to raise; for
    a bring-your-own-key user, to ask the server's operator)."""

    def __init__(self, *, period: str, setting: str, spent: str, cap: str, price: str, byok: bool) -> None:
        fix = (
            f"ask the operator of this server to raise {setting}" if byok else f"raise {setting} (or unset it: no cap)"
        )
        super().__init__(
            f"This call would spend {price}, but {period}'s spending on this key is {spent} of its {cap} cap "
            f"({setting}). Nothing was sent and nothing was charged. To go on, {fix}, or wait for the next "
            f"{'day' if period == 'today' else 'month'} (UTC); get_spending shows what was spent."
        )
        self.setting = setting


class SpendNotConfirmedError(LumaError):
    """A call priced above `LUMA_MCP_CONFIRM_ABOVE_USD` from a client that cannot be asked (no form
    elicitation, or no channel back to it): refused before anything is sent, with the quote and
    how to confirm it."""

    def __init__(self, *, price: str, quote: float, threshold: str, what: str, table: str, given: float | None) -> None:
        mismatch = f"confirm_spend_usd={given:g} does not match this call's price. " if given is not None else ""
        super().__init__(
            f"{mismatch}This call ({what}) would spend {price}, above this server's {threshold} limit for spending "
            f"without a confirmation (LUMA_MCP_CONFIRM_ABOVE_USD). Nothing was sent and nothing was charged. "
            f"If the user agrees, call again with the same arguments and confirm_spend_usd={quote:g} "
            f"(the quote, price table {table}); or the operator can raise LUMA_MCP_CONFIRM_ABOVE_USD."
        )
        self.quote = quote


class SpendDeclinedError(LumaError):
    """The user declined, or dismissed, the question asked before a big spend: nothing was sent."""

    def __init__(self, price: str, action: str) -> None:
        super().__init__(
            f"The user {action} spending {price} on this call: nothing was sent and nothing was charged. "
            "Do not call again unless the user asks for it."
        )


class ReusedJobError(LumaError):
    """A call given an identical earlier request's job could not look at it: the message names the
    job, so that calling again (perhaps on another copy of the server) does not pay for another."""

    def __init__(self, cause: LumaError, generation_id: str) -> None:
        super().__init__(
            f"{cause} This request is identical to an earlier one, which is generation {generation_id} "
            "(already paid for): call wait_for_generation with that id instead of generating again."
        )
        self.generation_id = generation_id


class SavedInsteadError(LumaError):
    """The API answered that it does not know a generation (404, or 422 naming it as an input) whose
    image this server saved: jobs made by another process of the emulator, or older than the API
    keeps them. The message adds each saved file, as the `path` input to give instead; nothing was
    charged (the API refused the request)."""

    def __init__(self, cause: LumaError, saved: list[tuple[str | None, str, str]]) -> None:
        """`saved`: (the input's field, or None for a look at the generation itself; its
        generation_id; the saved file's path)."""
        hints: list[str] = []
        for field, generation_id, path in saved:
            source = json.dumps({"path": path}, ensure_ascii=False)
            if field is None:
                hints.append(
                    f"The API no longer knows generation {generation_id}, but this server saved its image at {path}: "
                    f"to edit or split it, give source {source}."
                )
            else:
                hints.append(
                    f"The API no longer knows generation {generation_id}, but this server saved its image: give "
                    f"{field} as {source} instead (nothing was charged)."
                )
        super().__init__(" ".join([str(cause), *hints]))
        self.saved = saved


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "BudgetExceededError",
    "ConfigError",
    "CreateInFlightError",
    "InputError",
    "LumaError",
    "MissingApiKeyError",
    "OutcomeUnknownError",
    "OutputError",
    "RateLimitError",
    "ResendRefusedError",
    "Retry",
    "ReusedJobError",
    "SavedInsteadError",
    "ServerError",
    "ShuttingDownError",
    "SpendDeclinedError",
    "SpendNotConfirmedError",
    "StoreError",
    "UploadError",
]
