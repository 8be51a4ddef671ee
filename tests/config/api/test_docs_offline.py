"""docs/api.md, Schema and Postman: /api/docs/ (Swagger UI) and /api/redoc/ work offline. A real Chromium loads both pages and
everything they reference; every request goes to the service itself (fonts included), and the pages render."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(autouse=True)
def _settings(settings, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def browser_page():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page()
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            browser.close()


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        ("/api/docs/", ".swagger-ui .info .title"),
        ("/api/redoc/", "h1"),
    ],
)
def test_docs_load_with_no_request_to_another_host(browser_page, live_server, path, rendered):
    requested: list[str] = []
    failed: list[str] = []
    browser_page.on("request", lambda request: requested.append(request.url))
    browser_page.on("requestfailed", lambda request: failed.append(request.url))

    browser_page.goto(f"{live_server.url}{path}", wait_until="networkidle")
    browser_page.wait_for_selector(rendered)
    browser_page.wait_for_load_state("networkidle")

    own = urlsplit(live_server.url).netloc
    other_hosts = sorted({urlsplit(u).netloc for u in requested if urlsplit(u).scheme in ("http", "https")} - {own})
    assert other_hosts == [], f"{path} requested {other_hosts}"
    assert failed == []
    assert any("/api/schema/" in u for u in requested)
    if path == "/api/redoc/":
        fonts = [u for u in requested if u.endswith(".woff2")]
        assert fonts, "Redoc's fonts are served by the service itself"
        assert browser_page.evaluate("document.fonts.check('16px Montserrat')")
