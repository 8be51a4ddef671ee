from __future__ import annotations

import pytest
from django.test import Client

from tests.factories.webhooks import WEBHOOK_URL, sign, webhook_body

SECRET = "whsec-test-0123456789abcdef"
KNOWN_CATEGORIES = {2, 5, 12}


@pytest.fixture(autouse=True)
def _webhook_settings(settings, monkeypatch):
    settings.GESMART_WEBHOOK_SECRET = SECRET
    # The shop's category list, without a shop: 2, 5 and 12 exist.
    monkeypatch.setattr(
        "webhooks.services.unknown_categories", lambda ids: [i for i in ids if i not in KNOWN_CATEGORIES]
    )


class WebhookClient(Client):
    def deliver(self, payload=None, *, body: bytes | None = None, secret: str | None = SECRET,
                signature: str | None = None, content_type: str = "application/json", **extra):
        if body is None:
            body = webhook_body(payload)
        headers = dict(extra)
        if signature is None and secret is not None:
            signature = sign(body, secret)
        if signature is not None:
            headers["HTTP_X_GESMART_SIGNATURE"] = signature
        return self.post(WEBHOOK_URL, data=body, content_type=content_type, **headers)


@pytest.fixture
def webhook_client():
    return WebhookClient()
