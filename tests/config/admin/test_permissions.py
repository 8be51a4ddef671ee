"""Permissions that hold: a "Sync viewer" looks at everything and can do nothing; a "Sync operator" can.

Every list action and every button of the back-office is tried with a real browser-like session (the
user's own session cookie and CSRF token, CSRF enforced): the viewer's forged posts are refused (403) or
ignored with nothing done; the operator's have their effect. Nobody here is a superuser.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from catalog.models import Brand, Product
from config.celery import app
from exports.models import ProductsupBatch
from syncjobs.models import ResyncRun, SyncJob
from tests.factories.backoffice import CsrfSession, action_url, make_job, make_product
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

JOBS = reverse("admin:syncjobs_syncjob_changelist")
PRODUCTS = reverse("admin:catalog_product_changelist")
BATCHES = reverse("admin:exports_productsupbatch_changelist")
SCHEDULES = reverse("admin:django_celery_beat_periodictask_changelist")


def _list_action(session, url, action, pks):
    return session.post(url, {"action": action, "_selected_action": [str(pk) for pk in pks], "index": "0"})


def _messages(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


# --- setup_staff_groups -------------------------------------------------------------------------


def test_setup_staff_groups_hands_out_exactly_view_to_viewers_and_operate_to_operators(staff_groups):
    call_command("setup_staff_groups", verbosity=0)  # safe to repeat
    viewers, operators = staff_groups
    viewer = set(viewers.permissions.values_list("content_type__app_label", "codename"))
    operator = set(operators.permissions.values_list("content_type__app_label", "codename"))
    assert all(codename.startswith("view_") for _, codename in viewer)
    assert {("syncjobs", "view_syncjob"), ("catalog", "view_product"), ("exports", "view_productsupbatch")} <= viewer
    assert {("webhooks", "view_webhookdelivery"), ("django_celery_beat", "view_periodictask")} <= viewer
    assert viewer < operator
    assert operator - viewer >= {
        ("syncjobs", "change_syncjob"),
        ("syncjobs", "change_resyncrun"),
        ("catalog", "change_product"),
        ("exports", "change_productsupbatch"),
        ("django_celery_beat", "change_periodictask"),
    }
    # Nothing that could edit a record by hand or touch users.
    assert not any(app in ("auth", "webhooks") and not c.startswith("view_") for app, c in operator)
    assert not {("syncjobs", "delete_syncjob"), ("catalog", "delete_product")} & operator


def test_staff_in_neither_group_sees_nothing(django_user_model):
    user = django_user_model.objects.create_user(username="nobody", password="pw-nobody-123", is_staff=True)
    make_job(status="failed")
    session = CsrfSession(user)
    index = session.get(reverse("admin:index")).content.decode()
    assert 'id="sync-dashboard"' not in index and "Sync jobs" not in index
    for url in (JOBS, PRODUCTS, BATCHES, SCHEDULES, reverse("admin:webhooks_webhookdelivery_changelist")):
        assert session.get(url).status_code == 403, url


# --- sync jobs ----------------------------------------------------------------------------------


def test_viewer_cannot_retry_jobs_in_any_way(viewer_session, django_capture_on_commit_callbacks):
    job = make_job(status="failed")
    with django_capture_on_commit_callbacks() as callbacks:
        listing = viewer_session.get(JOBS).content.decode()
        assert job.sync_id in listing and "retry_selected" not in listing
        assert 'data-tool-name="retry_failed_in_filter"' not in listing
        detail = viewer_session.get(reverse("admin:syncjobs_syncjob_change", args=[job.pk])).content.decode()
        assert 'data-tool-name="retry_job"' not in detail
        assert viewer_session.post(action_url("syncjobs_syncjob", "retry_job", job.pk)).status_code == 403
        assert viewer_session.post(action_url("syncjobs_syncjob", "retry_failed_in_filter")).status_code == 403
        response = _list_action(viewer_session, JOBS, "retry_selected", [job.pk])
        assert response.status_code == 200 and not any("queued" in m for m in _messages(response))
    assert callbacks == []
    job.refresh_from_db()
    assert job.status == "failed" and job.attempt_rows.count() == 1


def test_operator_retries_a_job_from_the_list_the_button_and_the_filter(
    operator_session, operator_user, django_capture_on_commit_callbacks
):
    first, second, third = (make_job(status="failed", source="webhook") for _ in range(3))
    done = make_job(status="completed", source="webhook")
    with django_capture_on_commit_callbacks() as callbacks:
        response = _list_action(operator_session, JOBS, "retry_selected", [first.pk])
        assert "1 job queued for a new attempt." in _messages(response)
        detail = operator_session.get(reverse("admin:syncjobs_syncjob_change", args=[second.pk])).content.decode()
        assert 'data-tool-name="retry_job"' in detail
        assert operator_session.post(action_url("syncjobs_syncjob", "retry_job", second.pk)).status_code == 302
        url = action_url("syncjobs_syncjob", "retry_failed_in_filter") + "?_changelist_filters=source__exact%3Dwebhook"
        response = operator_session.post(url)
        assert response.status_code == 302 and response["Location"].endswith("?source__exact=webhook")
    assert len(callbacks) == 3  # first, second, then the filter's only failed job left: third
    statuses = dict(SyncJob.objects.values_list("pk", "status"))
    assert statuses[first.pk] == statuses[second.pk] == statuses[third.pk] == "pending"
    assert statuses[done.pk] == "completed"


# --- products -----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["sync_now", "force_resync", "send_to_productsup"])
def test_viewer_cannot_sync_products_from_the_list(viewer_session, action, settings):
    settings.PRODUCTSUP_ENABLED = True
    product = make_product(images=0)
    response = _list_action(viewer_session, PRODUCTS, action, [product.pk])
    assert response.status_code == 200
    assert not SyncJob.objects.exists()
    assert Product.objects.get(pk=product.pk).productsup_dirty_at is None


@pytest.mark.parametrize("tool", ["sync_now_button", "force_resync_button", "send_to_productsup_button"])
def test_viewer_cannot_press_a_product_button(viewer_session, tool, settings):
    settings.PRODUCTSUP_ENABLED = True
    product = make_product(images=0)
    detail = viewer_session.get(reverse("admin:catalog_product_change", args=[product.pk])).content.decode()
    assert "data-tool-name" not in detail
    assert viewer_session.post(action_url("catalog_product", tool, product.pk)).status_code == 403
    assert not SyncJob.objects.exists()
    assert Product.objects.get(pk=product.pk).productsup_dirty_at is None


def test_operator_syncs_products_from_the_list_and_the_buttons(
    operator_session, operator_user, settings, django_capture_on_commit_callbacks
):
    settings.PRODUCTSUP_ENABLED = True
    product = make_product(images=0)
    with django_capture_on_commit_callbacks():
        _list_action(operator_session, PRODUCTS, "sync_now", [product.pk])
        operator_session.post(action_url("catalog_product", "force_resync_button", product.pk))
        operator_session.post(action_url("catalog_product", "sync_now_button", product.pk))
        operator_session.post(action_url("catalog_product", "send_to_productsup_button", product.pk))
    jobs = list(SyncJob.objects.filter(product=product).order_by("pk"))
    assert [(j.source, j.force, j.requested_by_id, j.status) for j in jobs] == [
        ("admin", False, operator_user.pk, "pending"),
        ("admin", True, operator_user.pk, "pending"),
        ("admin", False, operator_user.pk, "pending"),
    ]
    assert Product.objects.get(pk=product.pk).productsup_dirty_at is not None


def test_brands_are_fixed_by_operators_only(viewer_session, operator_session):
    brand = Brand.objects.create(name="CoffeePro")
    url = reverse("admin:catalog_brand_change", args=[brand.pk])
    assert viewer_session.post(url, {"presta_manufacturer_id": "9"}).status_code == 403
    assert Brand.objects.get(pk=brand.pk).presta_manufacturer_id is None
    assert operator_session.post(url, {"presta_manufacturer_id": "9"}).status_code == 302
    assert Brand.objects.get(pk=brand.pk).presta_manufacturer_id == 9


# --- resyncs ------------------------------------------------------------------------------------


def test_full_resync_is_started_by_operators_only(viewer_session, operator_session, django_capture_on_commit_callbacks):
    url = action_url("syncjobs_resyncrun", "start_resync")
    assert 'id="start-full-resync"' not in viewer_session.get(reverse("admin:index")).content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        assert viewer_session.post(url).status_code == 403
    assert not ResyncRun.objects.exists() and callbacks == []
    assert 'id="start-full-resync"' in operator_session.get(reverse("admin:index")).content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        assert operator_session.post(url, {"dry_run": "1"}).status_code == 302
    run = ResyncRun.objects.get()
    assert run.dry_run and run.source == "admin" and len(callbacks) == 1


# --- Productsup batches -------------------------------------------------------------------------


def _batches(productsup):
    from connectors.productsup.client import new_batch_id
    from exports.services import platform_client

    open_id = new_batch_id()
    platform_client().upload(open_id, [{"id": "X"}])
    failed = ProductsupBatch.objects.create(batch_id=open_id, kind="delta", transport="platform", status="failed")
    committed = ProductsupBatch.objects.create(
        batch_id=new_batch_id(), kind="full", transport="platform", status="committed", process_id="", rows=1
    )
    return failed, committed


@pytest.mark.parametrize("action", ["retry_batches", "discard_batches", "trigger_process", "refresh_process"])
def test_viewer_cannot_act_on_batches_from_the_list(
    viewer_session, productsup, action, django_capture_on_commit_callbacks
):
    failed, committed = _batches(productsup)
    with django_capture_on_commit_callbacks() as callbacks:
        response = _list_action(viewer_session, BATCHES, action, [failed.pk, committed.pk])
    assert response.status_code == 200 and callbacks == []
    assert list(ProductsupBatch.objects.order_by("pk").values_list("status", "process_id")) == [
        ("failed", ""),
        ("committed", ""),
    ]
    assert productsup.batch(failed.batch_id)["status"] != "discarded"
    assert productsup.processes == {}


@pytest.mark.parametrize(
    "tool", ["retry_batch", "discard_batch", "trigger_process_button", "refresh_process_button", "start_full_export"]
)
def test_viewer_cannot_press_a_batch_button(viewer_session, productsup, tool, django_capture_on_commit_callbacks):
    failed, _ = _batches(productsup)
    listing = viewer_session.get(BATCHES).content.decode()
    detail = viewer_session.get(reverse("admin:exports_productsupbatch_change", args=[failed.pk])).content.decode()
    assert "data-tool-name" not in listing and "data-tool-name" not in detail
    url = action_url("exports_productsupbatch", tool, None if tool == "start_full_export" else failed.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        assert viewer_session.post(url).status_code == 403
    assert callbacks == [] and productsup.processes == {}
    assert ProductsupBatch.objects.get(pk=failed.pk).status == "failed"


def test_operator_discards_triggers_retries_and_exports(
    operator_session, productsup, django_capture_on_commit_callbacks
):
    failed, committed = _batches(productsup)
    detail = operator_session.get(reverse("admin:exports_productsupbatch_change", args=[failed.pk])).content.decode()
    assert 'data-tool-name="discard_batch"' in detail and 'data-tool-name="retry_batch"' in detail
    operator_session.post(action_url("exports_productsupbatch", "discard_batch", failed.pk))
    assert ProductsupBatch.objects.get(pk=failed.pk).status == "discarded"
    assert productsup.batch(failed.batch_id)["status"] == "discarded"
    operator_session.post(action_url("exports_productsupbatch", "trigger_process_button", committed.pk))
    committed.refresh_from_db()
    assert committed.process_id in productsup.processes
    with django_capture_on_commit_callbacks() as callbacks:
        _list_action(operator_session, BATCHES, "retry_batches", [failed.pk])
        operator_session.post(action_url("exports_productsupbatch", "start_full_export"))
    assert len(callbacks) == 2


# --- schedules ----------------------------------------------------------------------------------


def _schedule():
    crontab = CrontabSchedule.objects.create(minute="0", hour="3")
    return PeriodicTask.objects.create(name="Nightly check", task="celery.backend_cleanup", crontab=crontab)


@pytest.mark.parametrize("action", ["enable_tasks", "disable_tasks", "toggle_tasks", "run_tasks", "delete_selected"])
def test_viewer_cannot_switch_or_run_schedules(viewer_session, action):
    task = _schedule()
    listing = viewer_session.get(SCHEDULES).content.decode()
    assert "Nightly check" in listing and 'name="action"' not in listing
    response = _list_action(viewer_session, SCHEDULES, action, [task.pk])
    assert response.status_code == 200 and not any("success" in m for m in _messages(response))
    task.refresh_from_db()
    assert task.enabled and task.last_run_at is None and PeriodicTask.objects.filter(pk=task.pk).exists()


def test_viewer_cannot_edit_add_or_delete_a_schedule(viewer_session):
    task = _schedule()
    change = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
    page = viewer_session.get(change)
    assert page.status_code == 200 and 'type="submit"' not in page.content.decode().split('id="content"')[1]
    assert viewer_session.post(change, {"name": "Hacked", "task": task.task, "enabled": ""}).status_code == 403
    assert viewer_session.post(reverse("admin:django_celery_beat_periodictask_add"), {"name": "x"}).status_code == 403
    delete = reverse("admin:django_celery_beat_periodictask_delete", args=[task.pk])
    assert viewer_session.post(delete, {"post": "yes"}).status_code == 403
    task.refresh_from_db()
    assert task.name == "Nightly check" and task.enabled


def test_operator_disables_and_enables_a_schedule(operator_session):
    task = _schedule()
    response = _list_action(operator_session, SCHEDULES, "disable_tasks", [task.pk])
    assert response.status_code == 302
    task.refresh_from_db()
    assert not task.enabled
    _list_action(operator_session, SCHEDULES, "toggle_tasks", [task.pk])
    task.refresh_from_db()
    assert task.enabled


# --- records nobody edits -------------------------------------------------------------------------


def test_records_cannot_be_edited_or_deleted_even_by_operators(operator_session):
    job = make_job(status="failed")
    delivery = WebhookDelivery.objects.create(body_sha256="0" * 64, body_size=1, status_code=401)
    for prefix, pk in (("syncjobs_syncjob", job.pk), ("webhooks_webhookdelivery", delivery.pk)):
        assert operator_session.post(reverse(f"admin:{prefix}_change", args=[pk]), {}).status_code == 403
        assert operator_session.post(reverse(f"admin:{prefix}_delete", args=[pk]), {"post": "yes"}).status_code == 403
    assert SyncJob.objects.filter(pk=job.pk).exists() and WebhookDelivery.objects.filter(pk=delivery.pk).exists()


def test_operator_runs_a_schedule_now(operator_session, monkeypatch):
    task = _schedule()
    sent = []
    cleanup = app.tasks["celery.backend_cleanup"]
    monkeypatch.setattr(cleanup, "apply_async", lambda *args, **kwargs: sent.append(kwargs["headers"]))  # the broker
    response = _list_action(operator_session, SCHEDULES, "run_tasks", [task.pk])
    assert response.status_code == 302
    assert "1 task was successfully run" in _messages(response)
    assert sent == [{"periodic_task_name": "Nightly check"}]
