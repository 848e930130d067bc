"""The key and the sample images the tests share."""

from __future__ import annotations

import base64
import io

KEY = "luma-api-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def png_bytes(size: tuple[int, int] = (40, 30), color: tuple[int, int, int] = (200, 30, 30), fmt: str = "PNG") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
