"""Keys of other providers, told apart by how they begin. Pasted into `LUMA_AGENTS_API_KEY` by
mistake, one is refused before any request: sent, it would only earn a 401 after a trip to the
API. A Luma key is not required to start with `luma-api-` (the contract marks that prefix old)."""

from __future__ import annotations

OTHER_PROVIDERS = (
    ("sk-ant-", "an Anthropic"),  # before OpenAI's sk-, which it also starts with
    ("sk-", "an OpenAI"),
    ("AIza", "a Google"),
    ("xai-", "an xAI"),
    ("gsk_", "a Groq"),
    ("r8_", "a Replicate"),
    ("hf_", "a Hugging Face"),
)
"""(prefix, whose key it is), the most specific prefix first."""


def other_provider(key: str) -> tuple[str, str] | None:
    """The prefix of another provider's key that `key` starts with, and whose key that is."""
    return next(((prefix, whose) for prefix, whose in OTHER_PROVIDERS if key.startswith(prefix)), None)
