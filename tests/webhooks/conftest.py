from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories.webhooks import WEBHOOK_URL, sign, webhook_body
from webhooks.categories import categories_refresh
from webhooks.models import WebhookDelivery
from webhooks.services import delivery_process

SECRET = "whsec-test-0123456789abcdef"


@pytest.fixture(autouse=True)
def _webhook_settings(settings, sandbox_shop):
    """The secret, and the sandbox shop over real HTTP (it has categories 1-20), its category list read into
    the cache as beat does it (the webhook checks categories there, never at the shop)."""
    settings.GESMART_WEBHOOK_SECRET = SECRET
    cache.clear()
    assert categories_refresh(force=True)


class WebhookClient(Client):
    def deliver(
        self,
        payload=None,
        *,
        body: bytes | None = None,
        secret: str | None = SECRET,
        signature: str | None = None,
        content_type: str = "application/json",
        process: bool = True,
        **extra,
    ):
        """POST a delivery; with `process` (default), an accepted one is then applied as the worker does it."""
        if body is None:
            body = webhook_body(payload)
        headers = dict(extra)
        if signature is None and secret is not None:
            signature = sign(body, secret)
        if signature is not None:
            headers["HTTP_X_GESMART_SIGNATURE"] = signature
        response = self.post(WEBHOOK_URL, data=body, content_type=content_type, **headers)
        if process and response.status_code == 200:
            delivery = WebhookDelivery.objects.get(sync_id=response.json()["data"]["syncId"])
            delivery_process(delivery_id=delivery.pk)
        return response


@pytest.fixture
def webhook_client():
    return WebhookClient()
