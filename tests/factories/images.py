"""Real image bytes made with Pillow, for payloads."""

from __future__ import annotations

import base64
import io

from PIL import Image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (8, 8), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    mode = "RGBA" if fmt in ("PNG", "WEBP") else "RGB"
    fill = (*color, 255) if mode == "RGBA" else color
    Image.new(mode, size, fill).save(buffer, format=fmt)
    return buffer.getvalue()


def image_b64(fmt: str = "PNG", size: tuple[int, int] = (8, 8), color=(200, 30, 30)) -> str:
    return base64.b64encode(image_bytes(fmt, size, color)).decode()


def image_item(file_name: str = "front.png", fmt: str = "PNG", color=(200, 30, 30), size=(8, 8)) -> dict:
    return {"fileName": file_name, "base64": image_b64(fmt, size, color)}
