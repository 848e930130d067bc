"""What kind of image some bytes are, from their first bytes (magic numbers)."""

from __future__ import annotations

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
"""File name extension of each media type read or written."""


def sniff_media_type(head: bytes) -> str | None:
    """PNG, JPEG, WebP or GIF from the first bytes; None for anything else."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def describe_non_image(head: bytes) -> str:
    """A hint for common non-images, from their first bytes, so the fix is obvious ("" if none)."""
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
        return " (it is HEIC/AVIF: convert it to JPEG or PNG first)"
    if head.startswith(b"%PDF"):
        return " (it is a PDF)"
    if head.lstrip().startswith((b"<svg", b"<?xml")):
        return " (it is SVG: export it to PNG first)"
    return ""
