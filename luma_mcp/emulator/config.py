"""Knobs of the emulator. Each one marked [guess] stands for a rule the contract leaves open."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "2026-04-01"
DEFAULT_API_BASE = "http://api.luma-emulator.test/v1"
DEFAULT_STORAGE_BASE = "http://storage.luma-emulator.test"


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulated API behaves. Defaults follow the contract; [guess] marks assumptions."""

    latency: float = 30.0
    """Seconds from POST to a terminal state (the docs' p50 for uni-1 is about 30 s)."""
    queued_share: float = 0.1
    """Share of `latency` spent `queued` before `processing` [guess]."""
    web_search_extra: float = 4.0
    """Seconds added when `web_search` is true ("adds a few seconds") [guess: 4]."""
    long_edge: int = 2048
    """Long edge of rendered outputs in pixels; tests set it smaller for speed."""
    rpm: int = 30
    """Requests per minute per key on POST /v1/generations (sliding 60 s)."""
    concurrency: int = 10
    """Unfinished jobs per key."""
    weights: Mapping[str, int] = field(default_factory=dict[str, int])
    """Rate-limit units per `"model/type"`, e.g. `{"uni-1-max/image_edit": 3}` [3p]; absent = 1."""
    layers: int = 3
    """How many layers a layering job makes unless scripted (the API plans them: 1–10) [guess: 3]."""
    layer_extra: Mapping[str, Any] = field(default_factory=dict[str, Any])
    """Keys added to every output's `layer` beyond the contract's (the Go SDK 0.6.0 knows `bounds`),
    to check that clients keep what they do not know."""
    url_ttl: int = 3600
    """Lifetime of presigned output and upload URLs, in seconds."""
    api_keys: frozenset[str] | None = None
    """Keys that authenticate; None accepts any well-formed `luma-api-` key."""
    fetch_urls: bool = False
    """Fetch `url` image inputs over the network; when off, only URLs registered with
    `Emulator.register_url` and the emulator's own output URLs resolve, others answer 503
    `Image URL ingestion unavailable`."""
    max_body_bytes: int = 80 * 1024 * 1024
    """Largest accepted request body: 50 MB of image as base64, plus room [guess]."""
    inline_file_cap: int = 10 * 1024 * 1024
    """Largest multipart upload to POST /v1/files (the docs say there is a cap, not its size) [guess]."""
    file_ttl: int = 7 * 24 * 3600
    """Default lifetime of an uploaded file when the request sets no `expires_at` [guess]."""
    api_base_url: str = DEFAULT_API_BASE
    """Base URL (with `/v1`) that clients use; in-process any host reaches the app."""
    storage_base_url: str = DEFAULT_STORAGE_BASE
    """Where output and upload URLs point; a different host than the API, as S3 is."""
    stock_images: bool = False
    """Every text-to-image output of a size and format is the same stock image, rendered once: for
    benchmarks of a client, whose measure the emulator's rendering would otherwise share."""
    state_dir: str | None = None
    """A folder of this user's where the emulator keeps what a later process needs to take over:
    generations (request, inputs, the plan of their outputs) and uploaded files, in one SQLite file
    several processes may share. None keeps them in this process only. Read when the emulator is
    made."""
    admin_token: str | None = None
    """When set, the `/_emulator` admin paths need `Authorization: Bearer <admin_token>`; None leaves
    them open, as in-process and on loopback, where only this machine can reach them."""
