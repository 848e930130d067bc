"""`WaitProgress`: the progress bar of one wait. It counts the seconds of the call's whole wait
(one total for the call, creating the job included), each value above the last (the protocol
asks it) and none past the total; while the job runs it stays below 99% of the total, the rest
being for "completed"."""

from __future__ import annotations

from collections.abc import Callable

from .report import Progress


class WaitProgress:
    def __init__(self, progress: Progress, *, began: float, total: float, now: Callable[[], float]) -> None:
        """`began`: when the wait that `total` seconds measure began, on the clock `now` reads."""
        self._progress = progress
        self._began = began
        self._total = total
        self._now = now
        self._last = 0.0

    async def running(self, state: str) -> None:
        """The job was seen in `state` (queued, processing)."""
        elapsed = self._now() - self._began
        value = min(max(elapsed, self._last + 0.001), 0.99 * self._total)
        await self._tell(value, f"{state.capitalize()} · {elapsed:.0f} s of up to {self._total:.0f} s")

    async def completed(self) -> None:
        """The job completed: the bar is full."""
        await self._tell(self._total, "Completed · saving the image")

    async def _tell(self, value: float, message: str) -> None:
        value = min(value, self._total)
        if value > self._last:  # else there is no room left below the total: nothing is sent
            self._last = value
            await self._progress(value, self._total, message)
