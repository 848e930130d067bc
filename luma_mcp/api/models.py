"""Wire models of the Luma Agents API: what we send and what comes back.

Requests are strict (we build them); responses are parsed leniently enough to survive fields the
API adds later, and strictly enough that a body of the wrong shape is caught, not half-used.
"""

from __future__ import annotations

import calendar
import time
from datetime import datetime
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field


class WireModel(BaseModel):
    """Base of the wire models: their validators are built on first use, not at import (start-up
    time is a feature: hosts spawn the server often, and no API call happens before tools/list)."""

    model_config = ConfigDict(defer_build=True)


Model = Literal["uni-1", "uni-1-max"]
GenerationType = Literal["image", "image_edit", "layering"]
AspectRatio = Literal["3:1", "2:1", "16:9", "3:2", "1:1", "2:3", "9:16", "1:2", "1:3"]
Style = Literal["auto", "manga"]
OutputFormat = Literal["png", "jpeg"]
LayerResolution = Literal["1k", "2k"]
GenerationState = Literal["queued", "processing", "completed", "failed"]

ASPECT_RATIOS: tuple[AspectRatio, ...] = ("3:1", "2:1", "16:9", "3:2", "1:1", "2:3", "9:16", "1:2", "1:3")
PORTRAIT_RATIOS: tuple[AspectRatio, ...] = ("2:3", "9:16", "1:2", "1:3")
TERMINAL_STATES: frozenset[str] = frozenset({"completed", "failed"})
MAX_PROMPT_CHARS = 6000
MAX_LAYERING_PROMPT_CHARS = 500
MAX_IMAGE_REFS = 9
MAX_EDIT_IMAGE_REFS = 8  # the source takes a slot
MAX_INPUT_BYTES = 52_428_800  # 50 MB decoded, per image

RETRYABLE_FAILURES: frozenset[str] = frozenset({"generation_failed", "output_not_found", "rate_limited"})
"""Failure codes after which the same request may succeed; the others need a change first."""


class ImageRef(WireModel):
    """An image as the API takes it: exactly one of `url`, `data`, `generation_id`, `file_id`."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    url: str | None = None
    """A public http(s) URL the API fetches."""
    data: str | None = None
    """Base64 of the image bytes (no `data:` prefix)."""
    media_type: str | None = None
    """MIME type of `data`; required with it."""
    generation_id: str | None = None
    """An earlier generation of the same account, whose output is used."""
    file_id: str | None = None
    """A Files API upload in state `ready`."""


class LayeringOptions(WireModel):
    """How a `layering` request splits its source."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    resolution: LayerResolution = "1k"
    """1k is faster and cheaper; 2k re-renders each layer at higher quality, priced higher."""


LAYERING_FIELDS = frozenset({"type", "model", "source", "prompt", "layering", "user_id"})
"""What a layering request sends: the fields documented for it, and nothing else."""


class GenerationRequest(WireModel):
    """The body of `POST /v1/generations`."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    prompt: str | None = None
    """Required for images and edits; optional guidance for layering (sent only when given)."""
    model: Model = "uni-1"
    type: GenerationType = "image"
    aspect_ratio: AspectRatio | None = None
    """None lets the model pick; ignored for edits (they keep the source's size)."""
    style: Style = "auto"
    output_format: OutputFormat | None = None
    """None lets the model pick."""
    web_search: bool = False
    image_ref: tuple[ImageRef, ...] = ()
    source: ImageRef | None = None
    """The image to edit (`image_edit`) or split (`layering`)."""
    layering: LayeringOptions | None = None
    """For `layering`: the resolution of the layers."""
    user_id: str | None = None

    def payload(self) -> dict[str, object]:
        """The JSON body: unset optional fields and an empty `image_ref` are left out, and a
        layering request carries only the fields documented for it."""
        body = self.model_dump(mode="json", exclude_none=True)
        if self.type == "layering":
            return {name: value for name, value in body.items() if name in LAYERING_FIELDS}
        if not body["image_ref"]:
            del body["image_ref"]
        return body


class Layer(WireModel):
    """What a layer of a `layering` output holds. Keys the API adds later (`bounds`, in the Go SDK
    0.6.0) are kept as they came and passed on."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    index: int
    """Position from the front: 0 is the front-most layer, the last is the background."""
    label: str
    description: str = ""
    alpha_hint: str = "none"
    """soft, hard or none."""


class GenerationOutput(WireModel):
    """One output of a completed generation."""

    type: str = "image"
    url: str
    """Presigned download URL, valid for about an hour."""
    layer: Layer | None = None

    @property
    def url_expires_at(self) -> float | None:
        """When `url` stops working (Unix time), from its `X-Amz-Date` and `X-Amz-Expires`."""
        query = parse_qs(urlsplit(self.url).query)
        try:
            signed = calendar.timegm(time.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ"))
            return float(signed + int(query["X-Amz-Expires"][0]))
        except (KeyError, ValueError, IndexError):
            return None


class Generation(WireModel):
    """A generation job as the API reports it."""

    id: str = Field(min_length=1)
    type: str = "image"
    state: GenerationState
    model: str = ""
    created_at: str = ""
    output: list[GenerationOutput] = Field(default_factory=list[GenerationOutput])
    failure_reason: str | None = None
    failure_code: str | None = None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def retryable(self) -> bool | None:
        """For a failed job: may the same request succeed if sent again? None if not failed."""
        if self.state != "failed":
            return None
        return self.failure_code in RETRYABLE_FAILURES


class PresignedUpload(WireModel):
    """Where to send a file's bytes: a storage URL signed for one PUT."""

    url: str
    method: str = "PUT"
    headers: dict[str, str] | None = None


class StoredFile(WireModel):
    """A Files API upload."""

    id: str = Field(min_length=1)
    state: Literal["pending", "ready", "failed", "deleted"]
    mime_type: str = ""
    size_bytes: int = 0
    failure_reason: str | None = None
    created_at: str | None = None
    expires_at: str | None = None

    @property
    def lifetime(self) -> float | None:
        """Seconds from upload to expiry, both by the API's clock (so no skew with ours); None
        when the API does not say, or says it in a form we cannot read."""
        try:
            created = datetime.fromisoformat(self.created_at or "")
            expires = datetime.fromisoformat(self.expires_at or "")
            return (expires - created).total_seconds()
        except (TypeError, ValueError):  # TypeError: one with a zone, one without
            return None


class CreatedFile(WireModel):
    """The answer to `POST /v1/files`: the pending file and its upload link."""

    id: str = Field(min_length=1)
    state: str = "pending"
    upload: PresignedUpload | None = None
