from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories.backoffice import CsrfSession


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
    from django.core.cache import cache

    from sandboxes.prestashop import SandboxPrestaShop

    cache.clear()  # the shop's facts (languages, categories, image limit) of an earlier sandbox on this port
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


@pytest.fixture
def sandbox():
    """The sandbox Productsup (Platform and Stream APIs) as a real HTTP server on a free port."""
    from sandboxes.productsup import SandboxProductsup

    with SandboxProductsup(
        port=0,
        keep_rows=True,
        client_id="1234",
        client_secret="sandbox-secret",
        site_id=123,
        stream_id="1000",
        stream_token="sandbox-stream-token",
    ) as sb:
        yield sb


@pytest.fixture
def productsup(settings, sandbox):
    """Settings pointing at the sandbox (platform transport); tests switch PRODUCTSUP_TRANSPORT as needed."""
    settings.PRODUCTSUP_ENABLED = True
    settings.PRODUCTSUP_TRANSPORT = "platform"
    settings.PRODUCTSUP_API_URL = sandbox.url  # the host, as docs/operations.md, Configuration names it
    settings.PRODUCTSUP_STREAM_API_URL = sandbox.stream_url
    settings.PRODUCTSUP_CLIENT_ID = "1234"
    settings.PRODUCTSUP_CLIENT_SECRET = "sandbox-secret"
    settings.PRODUCTSUP_SITE = "123"
    settings.PRODUCTSUP_STREAM_ID = "1000"
    settings.PRODUCTSUP_STREAM_TOKEN = "sandbox-stream-token"
    settings.PRODUCTSUP_SOFT_DELETE = False
    settings.PRODUCTSUP_TIMEOUT = 10
    settings.PRODUCTSUP_MAX_WAIT_SECONDS = 30
    settings.PRODUCTSUP_BATCH_ATTEMPTS = 3
    settings.PRODUCTSUP_UPLOAD_ROWS = 10000
    settings.PRESTASHOP_PUBLIC_URL = "https://shop.example.com"
    return sandbox


@pytest.fixture(scope="session", autouse=True)
def _no_stray_database_sessions(django_db_setup, django_db_blocker):
    """On PostgreSQL, end sessions that threads of the test process (the live server's request threads)
    left open, so the test database can be dropped cleanly at the end of the run."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


# --- back-office users (the two staff groups of setup_staff_groups) ----------------------------


@pytest.fixture
def staff_groups(db):
    call_command("setup_staff_groups", verbosity=0)
    return Group.objects.get(name="Sync viewers"), Group.objects.get(name="Sync operators")


@pytest.fixture
def viewer_client(client, django_user_model, staff_groups):
    user = django_user_model.objects.create_user(username="viewer", password="viewer-pass-123", is_staff=True)
    user.groups.add(staff_groups[0])
    client.force_login(user)
    return client


@pytest.fixture
def operator_user(django_user_model, staff_groups):
    user = django_user_model.objects.create_user(username="operator", password="operator-pass-123", is_staff=True)
    user.groups.add(staff_groups[1])
    return user


@pytest.fixture
def operator_client(client, operator_user):
    client.force_login(operator_user)
    return client


@pytest.fixture
def viewer_user(django_user_model, staff_groups):
    user = django_user_model.objects.create_user(username="viewer", password="viewer-pass-123", is_staff=True)
    user.groups.add(staff_groups[0])
    return user


@pytest.fixture
def viewer_session(viewer_user):
    """The viewer in a browser-like session (CSRF enforced, the token from a page they were shown)."""
    return CsrfSession(viewer_user)


@pytest.fixture
def operator_session(operator_user):
    return CsrfSession(operator_user)
