"""Names a person can browse: `2026-11-24_red-fox-in-the-snow_d290f1ee_1.png` (date, prompt, short
id, output number), built only from sanitised parts, so no name can climb out of its folder. The
prompt's words are kept in whatever script they are written (`2026-11-24_雪の中の狐_d290f1ee_1.png`)."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

JOINER = "\u200d"
"""The zero-width joiner inside emoji sequences (👩‍🎨): kept within a word."""


def _in_word(char: str) -> bool:
    """Letters, marks and digits of any script, and pictographs (emoji): everything else (spaces,
    punctuation, the characters file systems reserve such as `/ \\ : * ? " < > |`, controls, and
    invisible format characters like a right-to-left override) separates words."""
    category = unicodedata.category(char)
    return category[0] in "LMN" or category == "So" or char == JOINER


def _cut(word: str, max_bytes: int) -> str:
    """The longest start of `word` within `max_bytes` of UTF-8, cut between characters."""
    cut = word.encode()[:max_bytes].decode(errors="ignore")
    return cut.rstrip(JOINER)


def slug(text: str, max_bytes: int = 48) -> str:
    """Lowercase words of any script (NFC), joined by `-`, at most `max_bytes` of UTF-8: safe in
    a file name on every OS, never empty. `雪の中の狐` stays `雪の中の狐`, `Рыжая лиса!` becomes
    `рыжая-лиса`; a prompt with no word at all gives `image`."""
    normal = unicodedata.normalize("NFC", text.lower())
    words = "".join(char if _in_word(char) else " " for char in normal).split()
    result = ""
    for word in words:
        candidate = f"{result}-{word}" if result else word
        if len(candidate.encode()) > max_bytes:
            result = result or _cut(word, max_bytes)  # one long word (a script without spaces): its start
            break
        result = candidate
    return result or "image"


def output_stem(
    *, created: datetime, prompt: str | None, generation_id: str, index: int, layer: str | None = None
) -> str:
    """`2026-11-24_red-fox-in-the-snow_d290f1ee_1`: date, prompt, short id, output number; a
    layer of a split is named by its index and label instead, `..._d290f1ee_layer-0-subject`, so
    a split's layers sort together, front to back. Every part is sanitised, and the date comes
    first, so no name can climb out of the folder or be a reserved device name (CON, NUL, …)."""
    short_id = re.sub(r"[^0-9a-f]", "", generation_id.lower())[:8] or "unknown"
    number = str(index + 1) if layer is None else f"layer-{index}-{slug(layer, 24)}"
    return f"{created.astimezone(UTC):%Y-%m-%d}_{slug(prompt or 'image')}_{short_id}_{number}"


def file_created(created_at: str) -> datetime:
    """The API's `created_at`, or now if it is missing or unreadable."""
    try:
        parsed = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
