"""Images the API accepts (up to 10 MB) reach a shop that refuses uploads over 2,000 KB, like a real
PrestaShop 8.2 on default PHP: the sandbox over real HTTP, with its default limit."""

from __future__ import annotations

import base64
import io
import os

import pytest
from PIL import Image

from catalog.models import ImageBlob
from syncjobs.models import SyncJob
from tests.factories.catalog import product_payload

URL = "/api/products/sync"
pytestmark = pytest.mark.django_db


def photo(size: tuple[int, int]) -> bytes:
    """Noise does not compress: a PNG of about 3 bytes per pixel."""
    img = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def test_a_large_image_is_fitted_to_the_shops_stated_maximum(api_client, sandbox_shop, settings):
    # The service believes the shop takes 10 MB: the shop answers code 72 with its own maximum.
    settings.PRESTASHOP_IMAGE_MAX_BYTES = 10 * 1024 * 1024
    settings.PRESTASHOP_IMAGE_MAX_PIXELS = 4000
    assert sandbox_shop.webservice.image_max_bytes == 2_000_000  # the sandbox's default: the real shop's
    original = photo((1400, 1000))
    assert 2_000_000 < len(original) < 10 * 1024 * 1024
    payload = product_payload(images=[{"fileName": "big.png", "base64": base64.b64encode(original).decode()}])

    response = api_client.post_json(URL, payload)

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["status"] == "completed" and data["imagesProcessed"] == 1
    assert any("re-encoded" in w for w in data["warnings"]), data["warnings"]
    images = sandbox_shop.product_by_reference("PROD001")["images"]
    assert len(images) == 1
    stored = sandbox_shop.store.images[images[0]["id"]]["original"]
    assert len(stored) <= 2_000_000
    assert Image.open(io.BytesIO(stored)).size[0] > 0
    # the ERP's image is kept as received
    assert bytes(ImageBlob.objects.get().content) == original
    job = SyncJob.objects.get(sync_id=data["syncId"])
    assert job.status == "completed" and job.error == ""
    # the shop's maximum is remembered: the next image is fitted before it is sent (one upload)
    sandbox_shop.reset_calls()
    payload = product_payload(
        reference="PROD002", images=[{"fileName": "b.png", "base64": base64.b64encode(photo((1400, 1000))).decode()}]
    )
    response = api_client.post_json(URL, payload)
    assert response.json()["data"]["status"] == "completed"
    assert [m for m, path in sandbox_shop.calls if path.startswith("/api/images")] == ["POST"]


def test_with_default_settings_a_large_image_is_fitted_before_it_is_sent(api_client, sandbox_shop):
    original = photo((1100, 1000))
    assert len(original) > 2_000_000
    payload = product_payload(images=[{"fileName": "big.png", "base64": base64.b64encode(original).decode()}])

    data = api_client.post_json(URL, payload).json()["data"]

    assert data["status"] == "completed" and data["imagesProcessed"] == 1
    assert any("re-encoded" in w for w in data["warnings"])
    assert [m for m, path in sandbox_shop.calls if path.startswith("/api/images")] == ["POST"]
