"""The `history.jsonl` logs earlier versions kept in `<output folder>/.luma-agents/`: one JSON object
per line, a later line for the same id replacing an earlier one. They are imported into the store
from where the last import stopped, so lines that an older server still running beside this one
appends later are picked up too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

if TYPE_CHECKING:  # read by an import only: whether a log is there is asked at start-up
    from .records import HistoryEntry

HISTORY_FILE = Path(".luma-agents") / "history.jsonl"
CHUNK_BYTES = 4 * 1024 * 1024
"""Read (and stored) this much of a log at a time: memory stays flat whatever its length."""


@dataclass(frozen=True)
class LegacyLog:
    """The log of one output folder. `trusted`, for a folder others could write (the temporary
    fallback), says whether it is still this user's alone: only then is its log believed."""

    folder: Path
    trusted: Callable[[], bool] | None = None

    @property
    def path(self) -> Path:
        return self.folder / HISTORY_FILE

    def size(self) -> int:
        """Its length now (0 if it is missing or not to be believed)."""
        if self.trusted is not None and not self.trusted():
            return 0
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def read(self, start: int) -> tuple[list[HistoryEntry], int]:
        """The entries of the complete lines from `start` (at most `CHUNK_BYTES` of them), and
        where the next read starts. A line being written stays for the next read; a damaged one
        (a crash mid-write) is skipped."""
        try:
            with self.path.open("rb") as file:
                file.seek(start)
                chunk = file.read(CHUNK_BYTES)
        except OSError:
            return [], start
        complete = chunk[: chunk.rfind(b"\n") + 1]
        from .records import HistoryEntry

        entries: dict[str, HistoryEntry] = {}
        for line in complete.splitlines():
            try:
                entry = HistoryEntry.model_validate_json(line)
            except ValidationError:
                continue
            entries.pop(entry.generation_id, None)  # a later line replaces an earlier one
            entries[entry.generation_id] = entry
        return list(entries.values()), start + len(complete)
