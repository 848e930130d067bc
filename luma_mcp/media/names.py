"""Names a person can browse: `2026-11-24_red-fox-in-the-snow_d290f1ee_1.png` (date, prompt, short
id, output number), built only from sanitised parts, so no name can climb out of its folder."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime


def slug(text: str, max_length: int = 48) -> str:
    """Lowercase ASCII words joined by `-`: safe in a file name on every OS, never empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    result = ""
    for word in words:
        candidate = f"{result}-{word}" if result else word
        if len(candidate) > max_length:
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
