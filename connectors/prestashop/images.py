"""Prepare an ERP image for the shop's upload limits (Pillow).

The ERP accepts images up to 10 MB; the shop's upload limit is typically 8 MB and the shop resizes
everything anyway. An image larger than `max_bytes`, or with a side longer than `max_pixels`, is
downscaled to fit `max_pixels` × `max_pixels` and re-encoded until it fits. Never dropped silently:
the caller turns `note` into a warning, and an image that cannot be made to fit raises `ImageTooLarge`.

Formats: photos → JPEG quality 85; images with transparency stay PNG; GIF → PNG (first frame) or JPEG;
WEBP → JPEG, or PNG when transparent. The file name's extension always matches the content (the shop
checks both).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
JPEG_QUALITY = 85
MIN_SIDE = 64  # below this a product picture is useless: give up rather than shrink further


class ImageTooLarge(ValueError):
    """The image cannot be brought under the byte limit (or cannot be read at all)."""


@dataclass(frozen=True)
class PreparedImage:
    content: bytes
    content_type: str
    file_name: str
    note: str | None = None  # what was changed, for the push warnings (None: sent as is)


def _with_ext(file_name: str, fmt: str) -> str:
    stem, _ = os.path.splitext(os.path.basename(file_name or "image"))
    return f"{stem or 'image'}.{EXTENSIONS[fmt]}"


def _has_alpha(img: Image.Image) -> bool:
    if img.mode in ("RGBA", "LA", "PA"):
        low, _ = img.getchannel("A").getextrema()  # one band: (min, max)
        return bool(low < 255)  # type: ignore[operator]
    if img.mode == "P":
        return "transparency" in img.info
    return img.mode in ("RGBa", "La") or "transparency" in img.info


def _encode(img: Image.Image, fmt: str, quality: int) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(buf, "JPEG", quality=quality, optimize=True, progressive=True)
    else:
        if img.mode not in ("RGBA", "RGB", "LA", "L", "P"):
            img = img.convert("RGBA")
        img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def prepare_image(content: bytes, file_name: str, *, max_bytes: int, max_pixels: int) -> PreparedImage:
    """The bytes to upload for one image, downscaled/re-encoded only when the shop's limits need it."""
    try:
        with Image.open(io.BytesIO(content)) as probe:
            fmt = probe.format
            width, height = probe.size
    except UnidentifiedImageError as exc:
        raise ImageTooLarge(f"{file_name}: not a readable image (format not recognised)") from exc
    except (OSError, Image.DecompressionBombError) as exc:
        raise ImageTooLarge(f"{file_name}: not a readable image ({exc})") from exc
    if fmt in CONTENT_TYPES and len(content) <= max_bytes and max(width, height) <= max_pixels:
        return PreparedImage(content, CONTENT_TYPES[fmt], _with_ext(file_name, fmt))

    try:
        with Image.open(io.BytesIO(content)) as src:
            src.seek(0)  # GIF/WEBP animations: the first frame is the product picture
            img = ImageOps.exif_transpose(src.copy())
    except (OSError, Image.DecompressionBombError) as exc:
        raise ImageTooLarge(f"{file_name}: not a readable image ({exc})") from exc
    alpha = _has_alpha(img)
    out_fmt = "PNG" if alpha else "JPEG"
    if img.mode == "P":
        img = img.convert("RGBA" if alpha else "RGB")

    side = min(max_pixels, max(img.size))
    quality = JPEG_QUALITY
    while True:
        candidate = img.copy()
        candidate.thumbnail((side, side), Image.Resampling.LANCZOS)
        data = _encode(candidate, out_fmt, quality)
        if len(data) <= max_bytes:
            break
        if out_fmt == "JPEG" and quality > 60:
            quality -= 10
            continue
        side = int(side * 0.75)
        if side < MIN_SIDE:
            raise ImageTooLarge(
                f"{file_name}: cannot bring {len(content)} bytes under {max_bytes} bytes even at {MIN_SIDE}px"
            )
    note = (
        f"image {file_name!r} re-encoded for PrestaShop: resized from {width}x{height} ({len(content)} bytes, "
        f"{fmt or '?'}) to {candidate.width}x{candidate.height} ({len(data)} bytes, {out_fmt})"
    )
    return PreparedImage(data, CONTENT_TYPES[out_fmt], _with_ext(file_name, out_fmt), note)
