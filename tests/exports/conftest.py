import pytest

from connectors.productsup.sandbox import SandboxProductsup


@pytest.fixture
def sandbox():
    with SandboxProductsup(port=0, keep_rows=True, client_id="1234", client_secret="sandbox-secret", site_id=123,
                           stream_id="1000", stream_token="sandbox-stream-token") as sb:
        yield sb


@pytest.fixture
def productsup(settings, sandbox):
    """Settings pointing at the sandbox (platform transport); tests switch PRODUCTSUP_TRANSPORT as needed."""
    settings.PRODUCTSUP_ENABLED = True
    settings.PRODUCTSUP_TRANSPORT = "platform"
    settings.PRODUCTSUP_API_URL = sandbox.platform_url
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


@pytest.fixture(autouse=True)
def _fast_attempts(monkeypatch):
    """No real pause between whole-batch attempts in tests."""
    from exports import services

    monkeypatch.setattr(services, "_sleep", lambda s: None)
