from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken


@pytest.fixture(autouse=True)
def _isolated_cache(settings):
    """Throttle counters and cached shop data must not leak between tests."""
    from django.core.cache import cache

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast hashing in tests
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(db, django_user_model):
    return django_user_model.objects.create_user(username="erp", password="erp-password-123")


class JsonClient(APIClient):
    """APIClient that sends JSON bodies and parses the envelope."""

    def post_json(self, path, payload, **extra):
        return self.post(path, data=json.dumps(payload), content_type="application/json", **extra)


@pytest.fixture
def anon_client():
    return JsonClient()


@pytest.fixture
def api_client(user):
    client = JsonClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def sandbox_shop(settings):
    """The sandbox PrestaShop as a real HTTP server on a free port, with the service pointed at it."""
    from connectors.prestashop.sandbox import SandboxPrestaShop

    shop = SandboxPrestaShop(host="127.0.0.1", port=0, api_key="TESTKEYTESTKEYTESTKEYTESTKEY1234")
    shop.start()
    settings.PRESTASHOP_URL = shop.url
    settings.PRESTASHOP_API_KEY = shop.api_key
    settings.PRESTASHOP_PUBLIC_URL = shop.url
    settings.PRODUCTSUP_ENABLED = False
    try:
        yield shop
    finally:
        shop.stop()
