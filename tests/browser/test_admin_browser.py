"""The back-office in a real browser (Playwright driving Debian's Chromium).

A staff member logs in, filters the failed jobs, opens one, reads its error, retries it and sees it
complete once the (sandbox) shop is healthy again; opens a product and sees its image thumbnails.
Screenshots of the pages are saved under docs/screenshots/ for the README.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.factories.backoffice import make_job, make_product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
# The README's screenshots are refreshed only when asked (UPDATE_SCREENSHOTS=1), so a test run leaves the
# tree clean; otherwise they go to a temporary directory (the pages are still captured).
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "staff-pass-123"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(autouse=True)
def _browser_friendly_settings(settings, monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make around it are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.PRODUCTSUP_ENABLED = False


@pytest.fixture
def page(tmp_path):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.screenshot_dir = str(tmp_path / "screenshots")
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser(username="operator", email="ops@example.com", password=PASSWORD)


def login(page, live_server, username="operator"):
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#sync-dashboard")
    page.evaluate("() => localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")  # room for the columns


def screenshot(page, name: str) -> None:
    folder = DOCS_SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else Path(page.screenshot_dir)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


def _history():
    """A realistic day of syncing: mostly completed, a few failed or partial, one waiting."""
    from catalog.models import Brand

    coffee = make_product(
        images=3,
        technical=4,
        reference="PROD001",
        name="Professional Coffee Machine",
        presta_id=101,
        last_sync_status="failed",
        price="1299.99",
        quantity=50,
        brand=Brand.objects.create(name="CoffeePro", presta_manufacturer_id=7),
        description="High-end espresso machine",
        categories=[5, 12],
        ean13="4006381333931",
    )
    grinder = make_product(
        images=1,
        technical=2,
        reference="PROD002",
        name="Burr Coffee Grinder",
        presta_id=102,
        last_sync_status="completed",
    )
    kettle = make_product(
        images=2, technical=1, reference="PROD003", name="Gooseneck Kettle", presta_id=103, last_sync_status="partial"
    )
    jobs = []
    for index in range(8):
        jobs.append(make_job(product=grinder if index % 2 else kettle, status="completed", source="api"))
    jobs.append(
        make_job(
            product=kettle,
            status="partial",
            source="webhook",
            attempts=1,
            error="Image 2 (side.png) was refused by the shop: Image format not recognized",
        )
    )
    jobs.append(make_job(product=grinder, status="pending", source="webhook", attempts=0))
    images = [
        {
            "fileName": image.file_name,
            "sha256": image.blob_id,
            "size": image.blob.size,
            "format": image.blob.format,
            "width": image.blob.width,
            "height": image.blob.height,
        }
        for image in coffee.images.select_related("blob").order_by("position")
    ]
    failed = make_job(
        product=coffee,
        status="failed",
        source="webhook",
        operation="update",
        attempts=3,
        error="PrestaShop 503 on PUT /api/products/101: Service Unavailable (shop in maintenance mode)\n"
        "<html><body><h1>503 Service Unavailable</h1></body></html>",
        payload={
            "operation": "update",
            "reference": "PROD001",
            "name": "Professional Coffee Machine",
            "description": "High-end espresso machine",
            "price": 1299.99,
            "quantity": 50,
            "active": True,
            "categories": [5, 12],
            "brand": {"name": "CoffeePro"},
            "images": images,
            "technical_data": [
                {"Gruppo": "Power", "Descrizione": "Power", "Valore": "1500", "Suffisso": "W", "PrintOrder": 1}
            ],
        },
    )
    make_job(
        product=grinder,
        status="failed",
        source="api",
        attempts=8,
        error="Could not connect to PrestaShop: connection refused (http://shop.example/api/products)",
    )
    from syncjobs.models import ResyncRun, SyncJob

    SyncJob.objects.filter(pk__in=[j.pk for j in jobs[:4]]).update(created_at=timezone.now() - timedelta(days=2))
    SyncJob.objects.filter(pk__in=[j.pk for j in jobs[4:6]]).update(created_at=timezone.now() - timedelta(days=5))
    ResyncRun.objects.create(
        status="completed",
        source="schedule",
        total=3,
        chunks_total=1,
        chunks_done=1,
        checked=3,
        changed=1,
        failed=0,
        finished_at=timezone.now(),
    )
    return coffee, failed


def test_staff_find_a_failed_job_read_its_error_and_see_a_product(page, live_server, staff):
    coffee, failed = _history()
    login(page, live_server)
    screenshot(page, "dashboard.png")
    assert page.locator("#sync-last-24h").is_visible()
    assert page.locator("#start-full-resync").is_visible()

    # All jobs, then only the failed ones.
    page.goto(f"{live_server.url}/admin/syncjobs/syncjob/")
    assert page.locator("#result_list .sync-badge-completed").count() == 8
    screenshot(page, "jobs-list.png")
    overflow = page.evaluate(
        "() => { const r = document.querySelector('.results'); return r.scrollWidth - r.clientWidth; }"
    )
    assert overflow <= 0, "every column fits a 1280-pixel screen"
    page.locator("#changelist-filter a", has_text="Failed").first.click()
    page.wait_for_url("**status__exact=failed**")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    assert page.locator("#result_list .sync-badge-failed").count() == 2

    # Open one and read its error, its attempts and its payload's images.
    page.click(f"text={failed.sync_id}")
    page.wait_for_selector(".sync-error")
    assert "PrestaShop 503 on PUT /api/products/101" in page.inner_text(".sync-error")
    assert page.locator("li[data-tool-name=retry_job] button").is_visible()
    thumbnails = page.locator(".sync-thumb img")
    assert thumbnails.count() == 3
    page.wait_for_function("() => [...document.querySelectorAll('.sync-thumb img')].every(i => i.naturalWidth > 0)")
    screenshot(page, "job-detail.png")

    # The product, its images as thumbnails in order.
    page.click("text=PROD001 — Professional Coffee Machine")
    page.wait_for_selector(".sync-thumb img")
    page.wait_for_function("() => [...document.querySelectorAll('.sync-thumb img')].every(i => i.naturalWidth > 0)")
    captions = page.locator(".sync-thumb figcaption strong").all_inner_texts()
    assert captions == ["1. photo-0.png", "2. photo-1.png", "3. photo-2.png"]
    screenshot(page, "product-detail.png")


def test_retry_a_failed_job_once_the_shop_is_healthy(page, live_server, staff, settings, request):
    try:
        from sandboxes.prestashop import SandboxPrestaShop  # noqa: F401
    except ImportError:
        pytest.skip("the sandbox PrestaShop is not available yet")
    from config.celery import app
    from syncjobs.models import SyncJob
    from syncjobs.services.sync import product_sync
    from tests.factories.catalog import product_payload
    from tests.factories.images import image_item

    shop = request.getfixturevalue("sandbox_shop")
    shop.down = True
    payload = product_payload(reference="DOWN001", categories=..., images=[image_item("front.png")])
    with pytest.raises(Exception):  # noqa: B017 - the API answers 502 (UpstreamError); the job is kept
        product_sync(payload=payload, user=staff)
    job = SyncJob.objects.get(reference="DOWN001")
    assert job.status == "failed" and job.error

    shop.down = False
    settings.CELERY_TASK_ALWAYS_EAGER = True
    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        login(page, live_server)
        page.goto(f"{live_server.url}/admin/syncjobs/syncjob/?status__exact=failed")
        row = page.locator("#result_list tbody tr", has_text=job.sync_id)
        assert "Failed" in row.inner_text()
        row.locator("input.action-select").check()
        page.select_option("select[name=action]", "retry_selected")
        page.click("button[name=index]")
        page.wait_for_selector("ul.messagelist")
        assert "1 job queued for a new attempt." in page.inner_text("ul.messagelist")

        page.goto(f"{live_server.url}/admin/syncjobs/syncjob/{job.pk}/change/")
        page.wait_for_selector(".sync-badge-completed")
        retry_row = page.locator(".inline-related tbody tr", has_text="Admin retry")
        assert retry_row.count() == 1 and "by operator" in retry_row.inner_text()
        assert "Succeeded" in retry_row.inner_text()
        screenshot(page, "job-retried.png")
    finally:
        app.conf.task_always_eager = was_eager
    job.refresh_from_db()
    assert job.status == "completed" and job.presta_id
    assert job.attempt_rows.last().trigger == "admin" and job.attempt_rows.last().triggered_by_id == staff.pk
