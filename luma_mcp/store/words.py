"""The words a history search matches: lower case, accents dropped, split at anything that is not a
letter or a digit, the same way for what is kept and for what is asked (a query word matches the
words of a prompt that start with it: "fox" finds "foxes")."""

from __future__ import annotations

import re
import unicodedata

from .records import HistoryEntry

_WORD = re.compile(r"\w+")
MAX_WORDS = 64
"""Words of an entry kept for search (a prompt is at most a few hundred characters)."""


def search_words(text: str) -> list[str]:
    """The distinct words of `text`, in order."""
    folded = text.lower()
    if not folded.isascii():  # most prompts are: nothing to fold
        folded = "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))
    return list(dict.fromkeys(_WORD.findall(folded.replace("_", " "))))


def entry_words(entry: HistoryEntry) -> list[str]:
    """What a search looks through: the prompt, the id, the model and the kind of job."""
    return search_words(" ".join([entry.prompt or "", entry.generation_id, entry.model, entry.type]))[:MAX_WORDS]
