"""Checks on image bytes sent to the emulated API: base64, size, type by magic bytes."""

from __future__ import annotations

import base64
import binascii
import io

from .errors import ApiError

MAX_IMAGE_BYTES = 52_428_800  # 50 MB, decoded
ACCEPTED_MEDIA_TYPES = ("image/gif", "image/jpeg", "image/png", "image/webp")


def sniff_media_type(data: bytes) -> str | None:
    """The image type the bytes announce, from their magic numbers (None: not an accepted image)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def decode_base64(field: str, text: str) -> bytes:
    """Strict base64 (standard alphabet, padding required); a `data:` URI prefix is not base64."""
    if len(text) * 3 // 4 > MAX_IMAGE_BYTES + 3:
        raise ApiError(413, f"{field}: image exceeds 50 MB limit")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, f"{field}: invalid base64 data") from None


def check_image(field: str, data: bytes, declared: str | None) -> str:
    """Size, type and declared type of an input image; returns the media type it really has."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ApiError(413, f"{field}: image exceeds 50 MB limit")
    if declared is not None:
        declared = declared.split(";")[0].strip().lower()
        if declared == "image/jpg":
            declared = "image/jpeg"
        if declared not in ACCEPTED_MEDIA_TYPES:
            raise ApiError(  # [guess]
                422, f"{field}: unsupported media_type '{declared}'. Supported: {', '.join(ACCEPTED_MEDIA_TYPES)}"
            )
    actual = sniff_media_type(data)
    if actual is None:
        raise ApiError(422, f"{field}: content is not a PNG, JPEG, WebP or GIF image")  # [guess]
    if declared is not None and declared != actual:
        raise ApiError(422, f"{field}: media_type '{declared}' does not match the data ({actual})")  # [guess]
    if actual == "image/gif" and _is_animated_gif(data):
        raise ApiError(422, f"{field}: animated GIFs are not supported")  # [guess]
    return actual


def _is_animated_gif(data: bytes) -> bool:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return bool(getattr(image, "is_animated", False))
    except (UnidentifiedImageError, OSError):
        return False
