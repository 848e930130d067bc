"""`Ledger`: which job an identical request may be given instead of paying again, which requests
must not be sent again because their answer was lost (they may be queued already), and which are
being sent right now, by any process on the same store.

Agents retry calls their host timed out, hosts spawn a server each, and replicas share a load
balancer; the API has no idempotency key: without this, every such retry would pay for a second
image. The rules live here; their state is the store's (`Claim`s under the request's key), so the
choice "reuse or create" is atomic across processes:
- a create is claimed (`creating`) just before it is sent; an identical request that finds the
  claim waits for its outcome instead of sending its own;
- the answer turns the claim into `created` (the job to hand back) or `lost` (refused for a while);
- a claim whose process died before the answer is read as a lost answer: the create may have gone
  out (a crash before it was claimed leaves nothing).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio

from ..api import Generation, GenerationRequest, Timekeeper
from ..errors import CreateInFlightError, ResendRefusedError, StoreError
from ..store.base import Account, Claim, is_alive, this_process
from .locks import KeyedLocks

logger = logging.getLogger(__name__)

UNFINISHED_REUSE_SECONDS = 3600.0
"""How long a job never seen finished may be handed to an identical request. Every look notes a
job's end, so this only applies to one nobody looked at again (jobs take about a minute)."""
LOST_ANSWER_SECONDS = 600.0
"""At least this long after a create's answer was lost, an identical request is not sent (it may
be queued already): its own window, whatever the dedupe window is set to."""
CREATE_SECONDS = 300.0
"""Longer than any create takes (its attempts, their timeouts, 429 pauses): a claim still
`creating` after this belongs to a process that is gone, on whatever host."""
IN_FLIGHT_SECONDS = 10.0
"""The least a call waits for another process's create of the same request, whatever its own
budget: its own create would not be cut short either, and one takes about a second."""
POLL_SECONDS = 0.25
"""How often a request waiting on another process's create (or save) looks again."""


def request_key(request: GenerationRequest) -> str:
    """Identical requests (same prompt, settings and input images) have the same key."""
    return hashlib.sha256(json.dumps(request.payload(), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Submission:
    """A job an identical request gets back."""

    generation_id: str
    at: float
    """When it was created (wall clock)."""


@dataclass(frozen=True)
class Ticket:
    """The right to send the create of `key`: settle it with `created`, `lost` or `released`."""

    key: str
    claim: Claim


class Ledger:
    def __init__(self, account: Account, *, wall: Callable[[], float], time: Timekeeper, dedupe_seconds: float) -> None:
        """`wall`: seconds since the epoch (claims are compared across processes); `time`: the
        clock and sleep a call's deadline is kept on. `dedupe_seconds`: how long after a job was
        seen completed it is still handed back."""
        self._account = account
        self._wall = wall
        self._time = time
        self._dedupe_seconds = dedupe_seconds
        self._lost_seconds = max(dedupe_seconds, LOST_ANSWER_SECONDS)
        self._creating = KeyedLocks()

    @asynccontextmanager
    async def one_create(self, key: str) -> AsyncGenerator[None]:
        """Held around the choice to reuse or create within this process (identical calls at
        once wait here, not on the store)."""
        async with self._creating.hold(key):
            yield

    async def decide(self, key: str, *, new_variation: bool, until: float) -> Submission | Ticket:
        """The job an identical request should get back, or a `Ticket` to create one. Raises
        `ResendRefusedError` while an identical create's answer is lost, `CreateInFlightError` if
        another process is still sending one at `until` (on `time`; `IN_FLIGHT_SECONDS` from now at
        the least), and `StoreError` if the store cannot say: in each case nothing is sent."""
        until = max(until, self._time.monotonic() + IN_FLIGHT_SECONDS)
        while True:
            now = self._wall()
            mine = Claim("creating", this_process(), now, now + CREATE_SECONDS + self._lost_seconds)
            held = await self._account.claim(key, mine)
            if held is None:
                return Ticket(key, mine)
            if new_variation:  # a new image on purpose: this create becomes the one to reuse
                if await self._account.swap(key, held, mine):
                    return Ticket(key, mine)
                continue
            if held.state == "created" and held.generation_id is not None:
                return Submission(held.generation_id, held.at)
            if held.state == "lost":
                raise ResendRefusedError(now - held.at)
            if not is_alive(held.owner) or now - held.at > CREATE_SECONDS:
                # Its process died between the send and the answer: the create may be queued.
                await self._account.swap(key, held, self._lost(held.at, held.owner))
                continue
            if self._time.monotonic() + POLL_SECONDS > until:
                raise CreateInFlightError
            await self._time.sleep(POLL_SECONDS)

    async def created(self, ticket: Ticket, generation_id: str, *, later: bool = False) -> None:
        """A create was answered: its job is the one to reuse from now on (`later`: queued)."""
        now = self._wall()
        claim = Claim("created", this_process(), now, now + UNFINISHED_REUSE_SECONDS, generation_id)
        risk = f"job {generation_id} may not be handed to an identical request"
        await self._settle(ticket, claim, risk, later=later)

    @property
    def refusal_seconds(self) -> float:
        """For how long after a create's answer was lost an identical request is refused."""
        return self._lost_seconds

    async def lost(self, ticket: Ticket) -> None:
        """A create was sent and its answer lost: identical requests are refused for a while."""
        await self._settle(ticket, self._lost(self._wall(), this_process()), "an identical request may be sent")

    async def released(self, ticket: Ticket) -> None:
        """A create that queued nothing (refused, or never sent): the next identical call tries."""
        await self._settle(ticket, None, "identical requests wait until its claim runs out")

    async def _settle(self, ticket: Ticket, claim: Claim | None, risk: str, *, later: bool = False) -> None:
        with anyio.CancelScope(shield=True):  # what became of a create is noted even by a cancelled call
            try:
                await self._account.swap(ticket.key, ticket.claim, claim, later=later)
            except StoreError as exc:
                logger.warning("the ledger could not note a create's outcome (%s): %s", exc, risk)

    def _lost(self, at: float, owner: str) -> Claim:
        return Claim("lost", owner, at, at + self._lost_seconds)

    async def note_outcome(self, generation: Generation, *, later: bool = False) -> None:
        """On every look: a failed job is not reused (the next identical call tries anew), and a
        completed one is reused for the dedupe window from when it was first seen completed.
        `later`: queued for the account's next trip to the store."""
        try:
            if generation.state == "failed":
                await self._account.forget_job(generation.id, later=later)
            elif generation.state == "completed":
                now = self._wall()
                await self._account.job_finished(generation.id, now, now + self._dedupe_seconds, later=later)
        except StoreError as exc:
            logger.warning("the ledger could not note the end of %s: %s", generation.id, exc)
