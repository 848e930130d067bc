"""The history the store benchmark (`store.py`) starts with: N generations as servers before the
store logged them (`history.jsonl` in a temporary HOME, which a server imports), or put straight
into a store."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

WORDS = " ".join(
    (
        "fox whale heron lantern harbor mountain river forest city night dawn snow rain storm desert garden "
        "castle bridge tower street market portrait poster logo sketch watercolor oil neon cyber vintage golden "
        "silver crimson azure emerald misty foggy sunny cozy quiet busy ancient modern tiny giant floating "
        "glowing broken shiny soft sharp red blue green purple orange black white",
    )
).split()
VOCABULARY = WORDS + [f"{a}{b}" for a in WORDS[:30] for b in ("ish", "scape", "light", "craft", "wood", "fall")]


def history_lines(count: int, folder: Path) -> Iterator[str]:
    """Two lines a generation, as servers before the store logged them: created, then saved."""
    rng = random.Random(15)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for number in range(count):
        generation_id = f"{number:08x}-0000-4000-8000-{rng.getrandbits(48):012x}"
        created = (start + timedelta(seconds=number * 300)).isoformat().replace("+00:00", "Z")
        prompt = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(6, 14)))
        base: dict[str, Any] = {
            "generation_id": generation_id, "prompt": prompt, "model": "uni-1", "type": "image",
            "aspect_ratio": "16:9", "created_at": created, "recorded_at": created,
            "inputs": [{"field": "image_ref[0]", "kind": "url", "value": "https://example.com/ref.jpg"}],
        }  # fmt: skip
        yield json.dumps(base) + "\n"
        saved = {
            "index": 0, "path": str(folder / f"{created[:10]}_{generation_id[:8]}_1.png"), "media_type": "image/png",
            "size_bytes": 1_234_567, "sha256": f"{rng.getrandbits(256):064x}", "width": 2048, "height": 1152,
        }  # fmt: skip
        yield json.dumps({**base, "state": "completed", "recorded_at": created, "files": [saved]}) + "\n"


def make_home(root: Path, name: str, generations: int) -> Path:
    home = root / name
    images = home / "images"
    (images / ".luma-agents").mkdir(parents=True)
    if generations:
        with (images / ".luma-agents" / "history.jsonl").open("w") as log:
            log.writelines(history_lines(generations, images))
    return home


async def fill(account: Any, generations: int, output: Path) -> None:
    """`generations` entries of `history_lines` put into a store's `account`."""
    from luma_mcp.store.records import HistoryEntry

    lines = [json.loads(line) for line in history_lines(generations, output)]
    for start in range(0, len(lines), 2000):
        await account.put_entries([HistoryEntry.model_validate(line) for line in lines[start : start + 2000]])
