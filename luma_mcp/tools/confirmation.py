"""A question before a big spend (`LUMA_MCP_CONFIRM_ABOVE_USD`): a generating call that may spend
more is confirmed before anything is sent, in the way the client and the protocol era allow.

- A call that carries `confirm_spend_usd` equal to its quote (the call's price, to the micro-dollar,
  under the price table of this version: the same arguments, the same price) is confirmed already;
  this is also how the MCP App view passes on its own confirmation.
- 2026-07-28: the answer comes back in a retry of the call. The tool answers an
  `InputRequiredResult` with a form, and a `request_state` naming the quote; the SDK seals that
  state (with a key of this process, or `LUMA_MCP_REQUEST_STATE_KEY` shared by replicas), so a
  client cannot forge it. Wired here by hand: the SDK's `Resolve`/`Elicit` flow fills a tool
  parameter before the tool runs, and our flat tools learn their price only once inputs are read.
- 2025-11-25 with a channel back to the client (stdio, stateful HTTP): `elicitation/create` mid-call.
- No channel back (stateless 2025-11-25 HTTP), or a client that cannot answer a form: refused
  with the quote and how to confirm it. Declined or dismissed: nothing sent, nothing charged.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mcp.server.elicitation import AcceptedElicitation, render_elicitation_schema
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import NoBackChannelError
from mcp_types import ClientCapabilities, ElicitRequest, ElicitRequestFormParams, ElicitResult, InputRequiredResult
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, ConfigDict, Field

from ..api import GenerationRequest
from ..config import Settings
from ..errors import SpendDeclinedError, SpendNotConfirmedError
from ..jobs.ledger import request_key
from ..jobs.pricing import MAX_LAYERS, PRICE_TABLE_VERSION, Price, format_micro, format_usd
from ..jobs.spending import micro

QUESTION = "confirm_spend"
"""The name of the question in an `InputRequiredResult`."""
INPUT_REQUIRED_VERSION = "2026-07-28"
"""The first protocol version whose questions ride a retry of the call."""


class SpendAnswer(BaseModel):
    """The form the user answers."""

    model_config = ConfigDict(defer_build=True)

    spend: bool = Field(default=True, title="Spend it", description="Leave checked to make the images and pay.")


class InputRequiredError(Exception):
    """The call must end with a question for the client (2026-07-28): the tool returns `result`."""

    def __init__(self, result: InputRequiredResult) -> None:
        super().__init__("input required")
        self.result = result


def describes(request: GenerationRequest, count: int) -> str:
    """What a call of `count` images will make, in a few words: `2 images with uni-1-max`, `a split
    into up to 10 layers`."""
    if request.type == "layering":
        resolution = request.layering.resolution if request.layering else "1k"
        return f"a split into up to {MAX_LAYERS} layers at {resolution} with {request.model}"
    kind = "edited image" if request.type == "image_edit" else "image"
    return f"{count} {kind}{'s' if count != 1 else ''} with {request.model}"


def quote_state(tool: str, request: GenerationRequest, price: Price) -> str:
    """What a question's answer is tied to: the tool, the request, its price and the table's version."""
    facts = [tool, request_key(request), price.micro_usd, PRICE_TABLE_VERSION]
    return "quote:" + hashlib.sha256(json.dumps(facts).encode()).hexdigest()[:32]


def _answers_forms(capabilities: ClientCapabilities | None) -> bool:
    """A bare `elicitation: {}` (from before modes) counts as forms; URL-only does not."""
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


class Confirmation:
    """The `Confirm` of one generating call (see `workspaces.Confirm`)."""

    def __init__(self, ctx: Context[Any], settings: Settings, tool: str, given: float | None) -> None:
        self._ctx = ctx
        self._threshold = micro(settings.confirm_above_usd)
        self._tool = tool
        self._given = given

    def asks(self, price: Price) -> bool:
        return self._threshold is not None and price.micro_usd > self._threshold

    async def __call__(self, price: Price, request: GenerationRequest, count: int) -> None:
        """Returns when the call of `count` images may spend `price`; raises otherwise (nothing sent)."""
        if not self.asks(price):
            return None
        if self._given is not None and micro(self._given) == price.micro_usd:
            return None
        assert self._threshold is not None
        shown, what = format_usd(price.usd), describes(request, count)
        if self._given is None and _answers_forms(self._ctx.client_capabilities):
            message = (
                f"Spend {shown}{' (an estimate: at most)' if price.estimate else ''} on {what}? "
                f"This server asks before any call above {format_micro(self._threshold)}."
            )
            version = self._ctx.protocol_version
            if version is not None and is_version_at_least(version, INPUT_REQUIRED_VERSION):
                return self._answered(quote_state(self._tool, request, price), message, shown)
            if self._ctx.session.can_send_request:
                try:
                    outcome = await self._ctx.elicit(message, SpendAnswer)
                except NoBackChannelError:
                    pass
                else:
                    if isinstance(outcome, AcceptedElicitation) and outcome.data.spend:
                        return None
                    raise SpendDeclinedError(shown, "dismissed" if outcome.action == "cancel" else "declined")
        raise SpendNotConfirmedError(
            price=shown, quote=price.usd, threshold=format_micro(self._threshold), what=what,
            table=PRICE_TABLE_VERSION, given=self._given,
        )  # fmt: skip

    def _answered(self, state: str, message: str, shown: str) -> None:
        """2026-07-28: the retry's answer to our question, if this is one; else the question."""
        answer = (self._ctx.input_responses or {}).get(QUESTION)
        if self._ctx.request_state == state and isinstance(answer, ElicitResult):
            if answer.action == "accept" and (answer.content or {}).get("spend", True) is not False:
                return
            raise SpendDeclinedError(shown, "dismissed" if answer.action == "cancel" else "declined")
        form = ElicitRequestFormParams(message=message, requested_schema=render_elicitation_schema(SpendAnswer))
        raise InputRequiredError(
            InputRequiredResult(input_requests={QUESTION: ElicitRequest(params=form)}, request_state=state)
        )
