"""`ImageInput`: an image as the tools take it, exactly one of url, path, data, generation_id or
file_id. Checked when the arguments are validated, with no I/O and nothing decoded whole: a 50 MB
image is 67 MB of base64, and validation runs on the event loop. Reading a path is
`local_files.py`'s; turning an input into what the API takes is `resolver.py`'s.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from ..api.models import MAX_INPUT_BYTES
from .sniff import describe_non_image, sniff_media_type

MediaType = Literal["image/png", "image/jpeg", "image/webp", "image/gif"]
KINDS = ("url", "path", "data", "generation_id", "file_id")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DATA_URI = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?:;[\w=-]+)*;base64,$")
URL_DRIVE = re.compile(r"^/[A-Za-z]:[\\/]")
PATH_DESCRIPTION = (
    "A local image file by its absolute path or one from ~, e.g. ~/Pictures/cat.png, inside the allowed folders."
)
"""How a `path` argument is described to the model, wherever one is taken."""
BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@dataclass(frozen=True)
class InlineImage:
    """A `data` input, checked but not decoded: its base64 text, type and decoded size."""

    base64: str
    """Without any `data:` prefix."""
    media_type: str
    size: int

    def decode(self) -> bytes:
        """The bytes. Blocking for a large image: run it in a worker thread."""
        return binascii.a2b_base64(self.base64)


class ImageInput(BaseModel):
    """An image: give exactly one of url, path, data, generation_id or file_id."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    url: str | None = Field(default=None, description="Public http(s) URL of the image (file:// URLs count as paths).")
    path: str | None = Field(default=None, description=PATH_DESCRIPTION)
    data: str | None = Field(
        default=None, description="The image as base64 (or a data: URI); set media_type unless it is a data: URI."
    )
    media_type: MediaType | None = Field(default=None, description="MIME type of data.")
    generation_id: str | None = Field(
        default=None, description="generation_id of an earlier result from these tools, to use its image."
    )
    output_index: int | None = Field(
        default=None,
        ge=0,
        le=9,
        description="With generation_id: which of its outputs, from 0 (e.g. one layer of split_into_layers).",
    )
    file_id: str | None = Field(default=None, description="file_id from upload_image (or the Luma Files API).")
    _inline: InlineImage | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_kind(self) -> ImageInput:
        given = [kind for kind in KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            got = f"got {' and '.join(given)}" if given else "got none"
            raise ValueError(f"give exactly one of url, path, data, generation_id or file_id ({got})")
        if self.url is not None and not re.match(r"^(https?|file)://", self.url, re.IGNORECASE):
            raise ValueError(f"url must start with https:// or http:// (got {self.url[:40]!r})")
        if self.url is not None and self.url.lower().startswith("file://"):
            host = urlsplit(self.url).netloc
            if host not in ("", "localhost"):
                raise ValueError(
                    f"url names a file on {host[:40]!r}, and only local files are read; copy it to this machine "
                    "and give its path (file:///path)"
                )
        if self.path is not None and not self.path.strip():
            raise ValueError("path is empty")
        if self.output_index is not None and self.generation_id is None:
            raise ValueError("output_index goes with generation_id only: it picks one output of that generation")
        if self.generation_id is not None and not UUID.match(self.generation_id):
            example = "d290f1ee-6c54-4b01-90e6-d701748f0851"
            raise ValueError(f"generation_id must be a UUID like {example} (got {self.generation_id[:40]!r})")
        self._inline = inline_data(self.data, self.media_type)
        return self

    @property
    def local_path(self) -> str | None:
        """The path to read, from `path` or a `file://` URL."""
        if self.path is not None:
            return self.path
        if self.url is not None and self.url.lower().startswith("file://"):
            path = unquote(urlsplit(self.url).path)
            # file:///C:/Users/me/cat.png names C:/Users/me/cat.png, not a folder "C:" under the root.
            return path[1:] if URL_DRIVE.match(path) else path
        return None

    @property
    def inline(self) -> InlineImage | None:
        """The checked `data`, if that is what was given."""
        return self._inline


def inline_data(data: str | None, media_type: str | None) -> InlineImage | None:
    """A `data` argument and its `media_type`, checked (None when no data was given)."""
    if data is None:
        if media_type is not None:
            raise ValueError("media_type goes with data only; remove it")
        return None
    return check_data(data, media_type)


def check_data(text: str, media_type: str | None) -> InlineImage:
    """Check a `data` input (base64, or a `data:` URI that names its type) without decoding it all:
    argument validation runs on the event loop, and a 50 MB image is 67 MB of base64. The base64 is
    checked whole (alphabet, padding, length), the size follows from its length, and only the first
    bytes are decoded, to see what the image is."""
    payload, declared = text, media_type
    if text.startswith("data:"):
        comma = text.find(",", 0, 300)
        header = DATA_URI.match(text[: comma + 1]) if comma >= 0 else None
        if header is not None:
            payload, declared = text[comma + 1 :], media_type or header.group("type")
    if declared is None:
        raise ValueError('media_type is required with data, e.g. "image/png"')
    padding = 2 if payload.endswith("==") else 1 if payload.endswith("=") else 0
    size = len(payload) // 4 * 3 - padding
    if size > MAX_INPUT_BYTES:
        raise ValueError(f"the image is {size} bytes; the API takes at most 50 MB")
    # What a strict decode takes: whole groups of four, the alphabet, '=' only at the end.
    if (
        len(payload) % 4
        or not payload.isascii()
        or payload.encode("ascii").translate(None, BASE64_ALPHABET) != b"=" * padding
    ):
        raise ValueError("data is not valid base64")
    head = binascii.a2b_base64(payload[:88])  # 66 bytes: enough to tell the type, or what else it is
    actual = sniff_media_type(head[:16])
    if actual is None:
        raise ValueError(f"data is not a PNG, JPEG, WebP or GIF image{describe_non_image(head)}")
    if actual != declared.lower():
        raise ValueError(f"media_type says {declared} but the data is {actual}; set media_type to {actual}")
    return InlineImage(payload, actual, size)
