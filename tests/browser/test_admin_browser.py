"""The back-office in a real browser (Playwright driving Debian's Chromium), at 1280×900 with the admin's
navigation sidebar open, as a "Sync viewer" and as a "Sync operator" (nobody here is a superuser).

- The viewer opens every page and finds no button, action or form that changes anything; each operation
  is then tried anyway, posted from the page with the viewer's own session and CSRF token: each is refused
  and nothing changes.
- The operator retries a failed job (it completes against the sandbox shop), syncs a product, starts a
  full resync, starts a Productsup full export and disables a schedule; each has its effect.
- The lists show their key columns inside the viewport (asserted from element bounding boxes).

Screenshots of the pages are saved under docs/screenshots/ for the README with UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone

from tests.factories.backoffice import make_job, make_product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
# The README's screenshots are refreshed only when asked (UPDATE_SCREENSHOTS=1), so a test run leaves the
# tree clean; otherwise they go to a temporary directory (the pages are still captured).
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "staff-pass-123"
WIDTH, HEIGHT = 1280, 900
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

# A POST from the page itself, as a forged form would send it: the user's session cookie and CSRF token.
FORGED_POST = """async ([url, fields]) => {
  const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const body = new URLSearchParams(fields);
  body.append("csrfmiddlewaretoken", token);
  const response = await fetch(url, {method: "POST", body, credentials: "same-origin", redirect: "manual"});
  return response.type === "opaqueredirect" ? 302 : response.status;
}"""


@pytest.fixture(autouse=True)
def _browser_friendly_settings(settings, monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make around it are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def page(tmp_path):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.screenshot_dir = str(tmp_path / "screenshots")
        try:
            yield page
        finally:
            context.close()
            browser.close()


def _staff(django_user_model, username: str, group: str):
    call_command("setup_staff_groups", verbosity=0)
    user = django_user_model.objects.create_user(username=username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def viewer(django_user_model):
    return _staff(django_user_model, "viewer", "Sync viewers")


@pytest.fixture
def operator(django_user_model):
    return _staff(django_user_model, "operator", "Sync operators")


def login(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#sync-dashboard")
    # The admin's default: the navigation sidebar open (nothing stored to close it).
    assert page.evaluate("() => localStorage.getItem('django.admin.navSidebarIsOpen')") in (None, "true")


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, url
    if not url.endswith("/admin/"):  # the index is the one page without the navigation sidebar
        assert page.locator("#nav-sidebar").is_visible(), "the navigation sidebar is open"


def screenshot(page, name: str) -> None:
    folder = DOCS_SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else Path(page.screenshot_dir)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


def forged_post(page, url: str, fields: dict | None = None) -> int:
    return page.evaluate(FORGED_POST, [url, fields or {}])


def _history():
    """A realistic day of syncing: mostly completed, a few failed or partial, one waiting, one deleted product."""
    from catalog.models import Brand
    from exports.models import ProductsupBatch
    from syncjobs.models import ResyncRun, SyncJob
    from webhooks.models import WebhookDelivery

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
        name="Burr Coffee Grinder with a rather long name that a list has to cut short",
        presta_id=102,
        last_sync_status="completed",
    )
    kettle = make_product(
        images=2, technical=1, reference="PROD003", name="Gooseneck Kettle", presta_id=103, last_sync_status="partial"
    )
    make_product(
        images=0,
        technical=0,
        reference="PROD004",
        name="Retired Milk Frother",
        is_deleted=True,
        deleted_at=timezone.now(),
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
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    if not PeriodicTask.objects.filter(enabled=True).exists():  # an earlier test's flush removed the defaults
        PeriodicTask.objects.create(
            name="Full resync to PrestaShop",
            task="syncjobs.tasks.full_resync_task",
            crontab=CrontabSchedule.objects.create(minute="0", hour="3"),
        )
    batch = ProductsupBatch.objects.create(batch_id="f" * 32, kind="delta", transport="platform", status="failed")
    WebhookDelivery.objects.create(
        body_sha256="a" * 64, body_size=200 * 1024 * 1024, status_code=413, error="Request body too large"
    )
    return coffee, failed, batch


def _assert_nothing_to_press(page) -> None:
    assert page.locator("li[data-tool-name]").count() == 0
    assert page.locator("select[name=action]").count() == 0
    assert page.locator("#start-full-resync").count() == 0
    edits = page.locator(
        "#content input[name=_save]:visible, #content input[name=_continue]:visible, "
        "#content a.addlink:visible, #content a.deletelink:visible"
    )
    assert edits.count() == 0, edits.first.evaluate("e => e.outerHTML")


def test_a_viewer_sees_every_page_and_every_operation_is_refused(page, live_server, viewer):
    from django_celery_beat.models import PeriodicTask

    from catalog.models import Product
    from exports.models import ProductsupBatch
    from syncjobs.models import ResyncRun, SyncJob

    coffee, failed, batch = _history()
    schedule = PeriodicTask.objects.filter(enabled=True).order_by("pk").first()
    base = f"{live_server.url}/admin"
    login(page, live_server, "viewer")
    pages = [
        f"{base}/",
        f"{base}/syncjobs/syncjob/",
        f"{base}/syncjobs/syncjob/{failed.pk}/change/",
        f"{base}/syncjobs/resyncrun/",
        f"{base}/catalog/product/",
        f"{base}/catalog/product/{coffee.pk}/change/",
        f"{base}/catalog/brand/",
        f"{base}/catalog/brand/{coffee.brand_id}/change/",
        f"{base}/exports/productsupbatch/",
        f"{base}/exports/productsupbatch/{batch.pk}/change/",
        f"{base}/webhooks/webhookdelivery/",
        f"{base}/alerts/alert/",
        f"{base}/django_celery_beat/periodictask/",
        f"{base}/django_celery_beat/periodictask/{schedule.pk}/change/",
    ]
    for url in pages:
        visit(page, url)
        _assert_nothing_to_press(page)
    visit(page, f"{base}/syncjobs/syncjob/{failed.pk}/change/")
    assert "PrestaShop 503 on PUT /api/products/101" in page.inner_text(".sync-error")

    # Each operation, posted anyway from the page with the viewer's own session and CSRF token.
    refused = {
        "retry a job": f"{base}/syncjobs/syncjob/{failed.pk}/actions/retry_job/",
        "retry failed in filter": f"{base}/syncjobs/syncjob/actions/retry_failed_in_filter/",
        "start a resync": f"{base}/syncjobs/resyncrun/actions/start_resync/",
        "sync a product": f"{base}/catalog/product/{coffee.pk}/actions/sync_now_button/",
        "force a resync": f"{base}/catalog/product/{coffee.pk}/actions/force_resync_button/",
        "send to Productsup": f"{base}/catalog/product/{coffee.pk}/actions/send_to_productsup_button/",
        "retry a batch": f"{base}/exports/productsupbatch/{batch.pk}/actions/retry_batch/",
        "discard a batch": f"{base}/exports/productsupbatch/{batch.pk}/actions/discard_batch/",
        "trigger a process": f"{base}/exports/productsupbatch/{batch.pk}/actions/trigger_process_button/",
        "start a full export": f"{base}/exports/productsupbatch/actions/start_full_export/",
    }
    for what, url in refused.items():
        assert forged_post(page, url) == 403, what
    list_actions = [
        (f"{base}/syncjobs/syncjob/", "retry_selected", failed.pk),
        (f"{base}/catalog/product/", "sync_now", coffee.pk),
        (f"{base}/catalog/product/", "send_to_productsup", coffee.pk),
        (f"{base}/exports/productsupbatch/", "discard_batches", batch.pk),
        (f"{base}/exports/productsupbatch/", "trigger_process", batch.pk),
        (f"{base}/django_celery_beat/periodictask/", "disable_tasks", schedule.pk),
        (f"{base}/django_celery_beat/periodictask/", "run_tasks", schedule.pk),
    ]
    for url, action, pk in list_actions:
        status = forged_post(page, url, {"action": action, "_selected_action": str(pk), "index": "0"})
        assert status == 200, action  # the list again, the action unknown to this user: nothing done
    edit = f"{base}/django_celery_beat/periodictask/{schedule.pk}/change/"
    assert forged_post(page, edit, {"name": schedule.name, "task": schedule.task}) == 403
    brand = f"{base}/catalog/brand/{coffee.brand_id}/change/"
    assert forged_post(page, brand, {"presta_manufacturer_id": "99"}) == 403

    # Nothing changed.
    failed.refresh_from_db()
    assert failed.status == "failed" and failed.attempt_rows.count() == 3
    assert not SyncJob.objects.filter(source="admin").exists() and not ResyncRun.objects.filter(source="admin").exists()
    assert Product.objects.get(pk=coffee.pk).productsup_dirty_at is None
    assert ProductsupBatch.objects.get(pk=batch.pk).status == "failed" and ProductsupBatch.objects.count() == 1
    schedule.refresh_from_db()
    assert schedule.enabled and schedule.total_run_count == 0
    coffee.brand.refresh_from_db()
    assert coffee.brand.presta_manufacturer_id == 7


def test_lists_show_their_key_columns_at_1280_with_the_sidebar_open(page, live_server, viewer):
    _history()
    login(page, live_server, "viewer")
    screenshot(page, "dashboard.png")
    assert page.evaluate("() => window.innerWidth") == WIDTH

    def inside(selector: str) -> None:
        box = page.locator(selector).first.bounding_box()
        assert box is not None, selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, f"{selector} at {box}"

    visit(page, f"{live_server.url}/admin/syncjobs/syncjob/")
    for column in ("sync_id", "reference", "status_badge", "error_line"):
        inside(f"#result_list th.column-{column}")
    inside("#result_list tbody tr td.field-error_line .ps-error-line")
    inside("#changelist-filter")
    screenshot(page, "jobs-list.png")

    page.locator("#changelist-filter a", has_text="Failed").first.click()
    page.wait_for_url("**status__exact=failed**")
    assert page.locator("#result_list tbody tr").count() == 2
    inside("#result_list tbody tr td.field-error_line .ps-error-line")

    visit(page, f"{live_server.url}/admin/catalog/product/")
    for column in ("reference", "name", "state_badge"):
        inside(f"#result_list th.column-{column}")
    deleted = page.locator("#result_list tbody tr", has_text="PROD004")
    assert "Deleted" in deleted.locator("td.field-state_badge").inner_text()
    inside("#result_list tbody tr td.field-state_badge .ps-badge")
    screenshot(page, "products-list.png")
    page.locator("#changelist-filter a", has_text="Deleted").first.click()
    page.wait_for_url("**state=deleted**")
    assert page.locator("#result_list tbody tr").count() == 1

    visit(page, f"{live_server.url}/admin/webhooks/webhookdelivery/")
    assert "413 too large" in page.inner_text("#result_list")


def test_an_operator_retries_syncs_resyncs_exports_and_disables_a_schedule(
    page, live_server, operator, settings, request
):
    from django_celery_beat.models import PeriodicTask

    from config.celery import app
    from exports.models import ProductsupBatch
    from syncjobs.models import ResyncRun, SyncJob
    from syncjobs.services.sync import product_sync
    from tests.factories.catalog import product_payload
    from tests.factories.images import image_item

    shop = request.getfixturevalue("sandbox_shop")
    request.getfixturevalue("productsup")
    coffee, failed, batch = _history()
    shop.down = True
    payload = product_payload(reference="DOWN001", categories=..., images=[image_item("front.png")])
    with pytest.raises(Exception):  # noqa: B017 - the API answers 502 (UpstreamError); the job is kept
        product_sync(payload=payload, user=None)
    job = SyncJob.objects.get(reference="DOWN001")
    assert job.status == "failed" and job.error
    shop.down = False

    settings.CELERY_TASK_ALWAYS_EAGER = True
    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    base = f"{live_server.url}/admin"
    try:
        login(page, live_server, "operator")

        # Retry the failed job from its page: it completes against the sandbox shop.
        visit(page, f"{base}/syncjobs/syncjob/{job.pk}/change/")
        screenshot(page, "job-detail.png")
        page.click("li[data-tool-name=retry_job] button")
        page.wait_for_selector("ul.messagelist")
        assert "1 job queued for a new attempt." in page.inner_text("ul.messagelist")
        page.reload()
        page.wait_for_selector(".field-status_badge .sync-badge-completed")
        retry_row = page.locator(".inline-related tbody tr", has_text="Admin retry")
        assert retry_row.count() == 1 and "by operator" in retry_row.inner_text()
        assert "Succeeded" in retry_row.inner_text()
        assert page.locator("li[data-tool-name=retry_job]").count() == 0  # completed: nothing left to retry
        screenshot(page, "job-retried.png")
        job.refresh_from_db()
        assert job.status == "completed" and job.presta_id and shop.product_by_reference("DOWN001")

        # Sync a product from its page.
        product = job.product
        visit(page, f"{base}/catalog/product/{product.pk}/change/")
        page.click("li[data-tool-name=sync_now_button] button")
        page.wait_for_selector("ul.messagelist")
        assert "Sync queued for DOWN001" in page.inner_text("ul.messagelist")
        synced = SyncJob.objects.filter(product=product, source="admin").get()
        assert synced.status == "completed" and synced.requested_by_id == operator.pk
        visit(page, f"{base}/catalog/product/{coffee.pk}/change/")
        page.wait_for_function("() => [...document.querySelectorAll('.sync-thumb img')].every(i => i.naturalWidth > 0)")
        captions = page.locator(".sync-thumb figcaption strong").all_inner_texts()
        assert captions == ["1. photo-0.png", "2. photo-1.png", "3. photo-2.png"]
        screenshot(page, "product-detail.png")

        # A full resync (dry run) from the dashboard.
        visit(page, f"{base}/")
        page.check("#sync-resync input[name=dry_run]")
        page.click("#start-full-resync")
        page.wait_for_selector("ul.messagelist")
        run = ResyncRun.objects.get(source="admin")
        assert run.dry_run and run.requested_by_id == operator.pk and run.status != "running"

        # A Productsup full export from the batches list.
        visit(page, f"{base}/exports/productsupbatch/")
        page.click("li[data-tool-name=start_full_export] button")
        page.wait_for_selector("ul.messagelist")
        assert "Full export queued." in page.inner_text("ul.messagelist")
        assert ProductsupBatch.objects.filter(kind="full", triggered_by="admin").exists()

        # Switch a schedule off with the list action.
        schedule = PeriodicTask.objects.filter(enabled=True).order_by("pk").first()
        visit(page, f"{base}/django_celery_beat/periodictask/")
        page.locator("#result_list tbody tr", has_text=schedule.name).locator("input.action-select").check()
        page.select_option("select[name=action]", "disable_tasks")
        page.click("button[name=index]")
        page.wait_for_selector("ul.messagelist")
        schedule.refresh_from_db()
        assert not schedule.enabled
    finally:
        app.conf.task_always_eager = was_eager
