"""`Ledger`: which jobs an identical request may be given instead of paying again, and which
requests must not be sent again because their answer was lost (they may be queued already).

Agents retry calls their host timed out, and the API has no idempotency key: without this, every
such retry would pay for a second image.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from ..api import Generation, GenerationRequest
from ..errors import ResendRefusedError
from .locks import KeyedLocks

UNFINISHED_REUSE_SECONDS = 3600.0
"""How long a job never seen finished may be handed to an identical request. Every look notes a
job's end, so this only applies to one nobody looked at again (jobs take about a minute)."""
LOST_ANSWER_SECONDS = 600.0
"""At least this long after a create's answer was lost, an identical request is not sent (it may
be queued already): its own window, whatever the dedupe window is set to."""


def request_key(request: GenerationRequest) -> str:
    """Identical requests (same prompt, settings and input images) have the same key."""
    return hashlib.sha256(json.dumps(request.payload(), sort_keys=True).encode()).hexdigest()


@dataclass
class Submission:
    """A generation this server created, remembered so an identical request can reuse it."""

    key: str
    generation_id: str
    at: float
    finished_at: float | None = None


class Ledger:
    def __init__(self, clock: Callable[[], float], *, dedupe_seconds: float) -> None:
        """`dedupe_seconds`: how long after a job was seen completed it is still handed back."""
        self._clock = clock
        self._dedupe_seconds = dedupe_seconds
        self._creating = KeyedLocks()
        self._by_key: dict[str, Submission] = {}
        """By request key: what an identical request may reuse."""
        self._by_id: dict[str, Submission] = {}
        self._lost: dict[str, float] = {}
        """Request key → when its create was sent and the answer lost."""

    @asynccontextmanager
    async def one_create(self, key: str) -> AsyncGenerator[None]:
        """Held around the choice to reuse or create: identical calls at once make one job."""
        async with self._creating.hold(key):
            yield

    def reusable(self, key: str) -> Submission | None:
        """The job an identical request should get back, if any. Raises `ResendRefusedError`
        while an identical create's answer was lost recently."""
        self._forget_expired()
        lost_at = self._lost.get(key)
        if lost_at is not None:
            raise ResendRefusedError(self._clock() - lost_at)
        return self._by_key.get(key)

    def created(self, key: str, generation_id: str) -> None:
        """A create was answered: its job is the one to reuse from now on."""
        self._lost.pop(key, None)
        submission = Submission(key, generation_id, self._clock())
        self._by_key[key] = self._by_id[generation_id] = submission

    @property
    def refusal_seconds(self) -> float:
        """For how long after a create's answer was lost an identical request is refused."""
        return max(self._dedupe_seconds, LOST_ANSWER_SECONDS)

    def lost(self, key: str) -> None:
        """A create was sent and its answer lost: identical requests are refused for a while."""
        self._lost[key] = self._clock()

    def note_outcome(self, generation: Generation) -> None:
        """On every look: a failed job is not reused (the next identical call tries anew), and a
        completed one is reused for the dedupe window from when it was first seen completed."""
        submission = self._by_id.get(generation.id)
        if submission is None:
            return
        if generation.state == "failed":
            self._forget(submission)
        elif generation.state == "completed" and submission.finished_at is None:
            submission.finished_at = self._clock()

    def empty(self) -> bool:
        """Whether nothing is remembered any more: no job to give back, no request to refuse."""
        self._forget_expired()
        return not self._by_id and not self._lost

    def _forget_expired(self) -> None:
        """Drop what an identical request may no longer reuse (keeps memory bounded)."""
        now = self._clock()
        window = self._dedupe_seconds
        # By id: a job an identical new_variation call replaced in `_by_key` is still here.
        for submission in list(self._by_id.values()):
            if submission.finished_at is None:
                fresh = now - submission.at <= UNFINISHED_REUSE_SECONDS
            else:
                fresh = now - submission.finished_at <= window
            if not fresh:
                self._forget(submission)
        for key, lost_at in list(self._lost.items()):
            if now - lost_at > self.refusal_seconds:
                del self._lost[key]

    def _forget(self, submission: Submission) -> None:
        if self._by_key.get(submission.key) is submission:
            del self._by_key[submission.key]
        if self._by_id.get(submission.generation_id) is submission:
            del self._by_id[submission.generation_id]
