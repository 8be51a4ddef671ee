"""Image preparation for the shop's limits (images generated with Pillow)."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from connectors.prestashop.images import ImageTooLarge, prepare_image

MB = 1024 * 1024


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def noise(size, mode="RGB") -> Image.Image:
    """Random pixels: compress badly, so files are big for their size."""
    return Image.frombytes(mode, size, os.urandom(size[0] * size[1] * len(mode)))


def opened(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_small_image_sent_unchanged():
    data = encode(Image.new("RGB", (800, 600), (10, 20, 30)), "JPEG")
    prepared = prepare_image(data, "photo.jpeg", max_bytes=8 * MB, max_pixels=1200)
    assert prepared.content == data
    assert prepared.content_type == "image/jpeg"
    assert prepared.file_name == "photo.jpg"
    assert prepared.note is None


def test_extension_follows_content():
    data = encode(Image.new("RGB", (10, 10)), "PNG")
    prepared = prepare_image(data, "misnamed.jpg", max_bytes=MB, max_pixels=1200)
    assert prepared.file_name == "misnamed.png" and prepared.content_type == "image/png"


def test_too_many_pixels_downscaled_to_fit():
    data = encode(Image.new("RGB", (3000, 1500), (200, 100, 50)), "JPEG")
    prepared = prepare_image(data, "wide.jpg", max_bytes=8 * MB, max_pixels=1200)
    img = opened(prepared.content)
    assert img.format == "JPEG" and img.size == (1200, 600)
    assert "3000x1500" in prepared.note and "1200x600" in prepared.note


def test_too_many_bytes_reencoded_under_limit():
    data = encode(noise((1000, 1000)), "PNG")  # ~3 MB of noise, within max_pixels
    assert len(data) > MB
    prepared = prepare_image(data, "noise.png", max_bytes=MB, max_pixels=1200)
    assert len(prepared.content) <= MB
    assert opened(prepared.content).format == "JPEG"  # an opaque photo becomes JPEG
    assert prepared.file_name == "noise.jpg"
    assert prepared.note


def test_transparency_keeps_png():
    img = Image.new("RGBA", (2000, 2000), (255, 0, 0, 0))
    img.paste((0, 255, 0, 255), (500, 500, 1500, 1500))
    prepared = prepare_image(encode(img, "PNG"), "logo.png", max_bytes=8 * MB, max_pixels=1200)
    out = opened(prepared.content)
    assert out.format == "PNG" and out.size == (1200, 1200)
    assert out.mode == "RGBA" and out.getpixel((0, 0))[3] == 0
    assert prepared.content_type == "image/png"


def test_large_transparent_png_shrunk_until_it_fits():
    img = noise((1200, 1200), "RGBA")
    data = encode(img, "PNG")
    prepared = prepare_image(data, "alpha.png", max_bytes=MB, max_pixels=1200)
    out = opened(prepared.content)
    assert len(prepared.content) <= MB and out.format == "PNG" and max(out.size) < 1200


def test_gif_and_webp_converted_sensibly():
    gif = encode(Image.new("P", (1600, 1600), 3), "GIF")
    prepared = prepare_image(gif, "anim.gif", max_bytes=8 * MB, max_pixels=1200)
    assert opened(prepared.content).size == (1200, 1200)
    assert prepared.content_type in ("image/jpeg", "image/png")

    webp = encode(Image.new("RGB", (2000, 1000), (1, 2, 3)), "WEBP")
    prepared = prepare_image(webp, "pic.webp", max_bytes=8 * MB, max_pixels=1200)
    assert opened(prepared.content).format == "JPEG" and prepared.file_name == "pic.jpg"

    small_webp = encode(Image.new("RGB", (100, 100)), "WEBP")
    kept = prepare_image(small_webp, "ok.webp", max_bytes=8 * MB, max_pixels=1200)
    assert kept.content == small_webp and kept.content_type == "image/webp"


def test_unsupported_format_converted():
    bmp = encode(Image.new("RGB", (100, 80), (9, 9, 9)), "BMP")
    prepared = prepare_image(bmp, "scan.bmp", max_bytes=8 * MB, max_pixels=1200)
    assert opened(prepared.content).format == "JPEG" and prepared.file_name == "scan.jpg"
    assert prepared.note


def test_unreadable_raises_not_dropped():
    with pytest.raises(ImageTooLarge, match="not a readable image"):
        prepare_image(b"garbage", "x.jpg", max_bytes=MB, max_pixels=1200)


def test_impossible_limit_raises():
    data = encode(noise((400, 400)), "PNG")
    with pytest.raises(ImageTooLarge):
        prepare_image(data, "n.png", max_bytes=100, max_pixels=1200)
