"""`SetProgress`: one progress bar for several generations waited on together. Each member
reports as a single wait does; the bar shows the share of the whole that is done, only ever
rising and never past its total, and says how many are done."""

from __future__ import annotations

from .report import Progress


class SetProgress:
    def __init__(self, progress: Progress, count: int) -> None:
        self._progress = progress
        self._shares = [0.0] * count
        self._last = 0.0

    def member(self, index: int) -> Progress:
        """The `Progress` member `index` reports to."""

        async def report(value: float, total: float | None, message: str) -> None:
            if total:
                self._shares[index] = min(1.0, value / total)
            await self._emit(total, message)

        return report

    def ended(self, index: int) -> None:
        """Member `index` will report no more (it failed): its share counts as done."""
        self._shares[index] = 1.0

    async def _emit(self, total: float | None, message: str) -> None:
        whole = total or 1.0
        value = whole * sum(self._shares) / len(self._shares)
        if value <= self._last:  # the protocol wants each value above the last
            if self._last + 0.001 > whole:
                return
            value = self._last + 0.001
        self._last = value
        done = sum(1 for share in self._shares if share >= 1.0)
        await self._progress(value, whole, f"{done} of {len(self._shares)} done · {message}")
