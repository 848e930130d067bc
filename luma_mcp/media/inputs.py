"""Image inputs as tools take them, checked before any request, and turned into API image refs."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..api.models import MAX_INPUT_BYTES, ImageRef
from .sniff import sniff_media_type

MediaType = Literal["image/png", "image/jpeg", "image/webp", "image/gif"]
KINDS = ("url", "data", "generation_id", "file_id")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DATA_URI = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?:;[\w=-]+)*;base64,(?P<data>.*)$", re.DOTALL)


class ImageInput(BaseModel):
    """An image: give exactly one of url, data, generation_id or file_id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(default=None, description="Public http(s) URL of the image.")
    data: str | None = Field(
        default=None, description="The image as base64 (or a data: URI); set media_type unless it is a data: URI."
    )
    media_type: MediaType | None = Field(default=None, description="MIME type of data.")
    generation_id: str | None = Field(
        default=None, description="generation_id of an earlier result from these tools, to use its image."
    )
    file_id: str | None = Field(default=None, description="id of an image uploaded with the Luma Files API.")

    @model_validator(mode="after")
    def _one_kind(self) -> ImageInput:
        given = [kind for kind in KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            got = f"got {' and '.join(given)}" if given else "got none"
            raise ValueError(f"give exactly one of url, data, generation_id or file_id ({got})")
        if self.url is not None and not re.match(r"^https?://", self.url, re.IGNORECASE):
            raise ValueError(f"url must start with https:// or http:// (got {self.url[:40]!r})")
        if self.generation_id is not None and not UUID.match(self.generation_id):
            example = "d290f1ee-6c54-4b01-90e6-d701748f0851"
            raise ValueError(f"generation_id must be a UUID like {example} (got {self.generation_id[:40]!r})")
        if self.media_type is not None and self.data is None:
            raise ValueError("media_type goes with data only; remove it")
        if self.data is not None:
            self._check_data(self.data)
        return self

    def _check_data(self, text: str) -> None:
        match = DATA_URI.match(text)
        declared = self.media_type or (match.group("type") if match else None)
        if declared is None:
            raise ValueError('media_type is required with data, e.g. "image/png"')
        try:
            raw = base64.b64decode(match.group("data") if match else text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("data is not valid base64") from None
        if len(raw) > MAX_INPUT_BYTES:
            raise ValueError(f"the image is {len(raw)} bytes; the API takes at most 50 MB")
        actual = sniff_media_type(raw[:16])
        if actual is None:
            raise ValueError("data is not a PNG, JPEG, WebP or GIF image")
        if actual != declared.lower():
            raise ValueError(f"media_type says {declared} but the data is {actual}; set media_type to {actual}")

    def to_ref(self) -> ImageRef:
        """The API's form: a data: URI is split into base64 and media type."""
        if self.data is not None:
            match = DATA_URI.match(self.data)
            data = match.group("data") if match else self.data
            media_type = self.media_type or (match.group("type") if match else None)
            return ImageRef(data=data, media_type=media_type and media_type.lower())
        return ImageRef(url=self.url, generation_id=self.generation_id, file_id=self.file_id)
