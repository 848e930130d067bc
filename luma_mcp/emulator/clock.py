"""The emulator's clock: wall time plus an offset that tests and the admin API move forward.

Everything time-dependent in the emulator (job lifecycle, URL expiry, rate-limit windows, slow
answers) reads this clock, so a test advances it instead of sleeping.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import anyio
from anyio.lowlevel import checkpoint

# 2026-04-08T12:00:00Z, the timestamp of the contract's sample Generation.
FROZEN_START = 1775649600.0


@dataclass(eq=False)
class Clock:
    """Seconds since the Unix epoch.

    A frozen clock starts at `FROZEN_START` and moves only when `advance()` is called; a running
    clock follows the wall clock (plus whatever `advance()` added, so a standalone emulator can
    skip ahead too).
    """

    frozen: bool = True
    _offset: float = 0.0
    _sleepers: list[tuple[float, anyio.Event]] = field(default_factory=list[tuple[float, anyio.Event]])

    def now(self) -> float:
        base = FROZEN_START if self.frozen else time.time()
        return base + self._offset

    def advance(self, seconds: float) -> float:
        """Move time forward, waking every `sleep()` whose deadline has passed. Returns the new now."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        now = self.now()
        due = [event for deadline, event in self._sleepers if deadline <= now]
        self._sleepers = [(d, e) for d, e in self._sleepers if d > now]
        for event in due:
            event.set()
        return now

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time (a frozen clock waits for `advance()`)."""
        if seconds <= 0:
            await checkpoint()
            return
        if not self.frozen:
            await anyio.sleep(seconds)
            return
        sleeper = (self.now() + seconds, anyio.Event())
        self._sleepers.append(sleeper)
        try:
            await sleeper[1].wait()
        finally:  # a cancelled sleep must not linger, or a clock that jumps would jump to it
            if sleeper in self._sleepers:
                self._sleepers.remove(sleeper)

    def next_wake(self) -> float | None:
        """When the earliest `sleep()` ends (None if nobody sleeps): for clocks that jump ahead."""
        return min((deadline for deadline, _ in self._sleepers), default=None)

    async def skip(self, seconds: float) -> None:
        """A `sleep` for the emulator's clients in tests: jump the clock instead of waiting."""
        self.advance(max(seconds, 0.0))
        await checkpoint()
