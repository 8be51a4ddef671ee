"""Marking changed products and debouncing the delta flush (on commit, one task for many changes)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Product
from exports.models import ProductsupBatch, ProductsupExportState
from exports.services import (
    ExportBusy,
    export_lease,
    productsup_export,
    productsup_flush,
    productsup_product_changed,
)
from exports.tasks import productsup_flush_task, productsup_full_export_task
from tests.factories.exports import make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(productsup_flush_task, "apply_async", lambda *a, **kw: calls.append(kw))
    return calls


@pytest.fixture
def flush_settings(settings):
    settings.PRODUCTSUP_ENABLED = True
    settings.PRODUCTSUP_FLUSH_SECONDS = 60
    settings.PRODUCTSUP_FLUSH_MAX_ROWS = 100
    return settings


def test_changed_marks_and_schedules_one_flush_after_commit(
    flush_settings, enqueued, django_capture_on_commit_callbacks
):
    a, b = make_product("A"), make_product("B")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        productsup_product_changed(product_ids=[a.pk])
        assert enqueued == []  # nothing before the commit
    assert len(callbacks) == 1
    assert enqueued == [{"countdown": 60}]
    a.refresh_from_db()
    assert a.productsup_dirty_at is not None
    due = ProductsupExportState.objects.get(pk=1).flush_due_at
    assert timedelta(seconds=55) < due - timezone.now() <= timedelta(seconds=60)

    # More changes while a flush is scheduled: marked, but no second task.
    with django_capture_on_commit_callbacks(execute=True):
        productsup_product_changed(product_ids=[a.pk, b.pk])
    assert len(enqueued) == 1
    assert Product.objects.filter(productsup_dirty_at__isnull=False).count() == 2


def test_every_change_moves_the_mark(flush_settings, enqueued, django_capture_on_commit_callbacks):
    a = make_product("A")
    with django_capture_on_commit_callbacks(execute=True):
        productsup_product_changed(product_ids=[a.pk])
    first = Product.objects.get(pk=a.pk).productsup_dirty_at
    with django_capture_on_commit_callbacks(execute=True):
        productsup_product_changed(product_ids=[a.pk])
    assert Product.objects.get(pk=a.pk).productsup_dirty_at > first


def test_flush_sooner_when_enough_rows_wait(flush_settings, enqueued, django_capture_on_commit_callbacks):
    flush_settings.PRODUCTSUP_FLUSH_MAX_ROWS = 3
    products = [make_product(f"P{i}") for i in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        productsup_product_changed(product_ids=[products[0].pk])
    assert enqueued == [{"countdown": 60}]
    with django_capture_on_commit_callbacks(execute=True):
        productsup_product_changed(product_ids=[p.pk for p in products])
    assert enqueued[-1] == {"countdown": 0}
    # Still one early flush for more rows.
    with django_capture_on_commit_callbacks(execute=True):
        productsup_product_changed(product_ids=[p.pk for p in products])
    assert len(enqueued) == 2


def test_a_lost_flush_task_is_scheduled_again(flush_settings, enqueued, django_capture_on_commit_callbacks):
    a = make_product("A")
    ProductsupExportState.objects.update_or_create(pk=1, defaults={"flush_due_at": timezone.now() - timedelta(hours=1)})
    with django_capture_on_commit_callbacks(execute=True):
        productsup_product_changed(product_ids=[a.pk])
    assert enqueued == [{"countdown": 60}]


def test_disabled_is_a_no_op(flush_settings, enqueued, django_capture_on_commit_callbacks):
    flush_settings.PRODUCTSUP_ENABLED = False
    a = make_product("A")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        productsup_product_changed(product_ids=[a.pk])
    assert callbacks == [] and enqueued == []
    a.refresh_from_db()
    assert a.productsup_dirty_at is None


def test_flush_task_sends_the_delta(productsup, flush_settings, enqueued):
    make_product("A", dirty=True)
    make_product("B", dirty=True)
    make_product("CLEAN")
    ProductsupExportState.objects.update_or_create(pk=1, defaults={"flush_due_at": timezone.now()})

    result = productsup_flush_task.apply()

    batch = ProductsupBatch.objects.get(pk=result.get())
    assert batch.kind == "delta" and batch.rows == 2 and batch.requests == 1
    assert productsup.count("POST", "/upload") == 1 and productsup.count("POST", "/commit") == 1
    assert set(productsup.site_rows()) == {"A", "B"}
    assert ProductsupExportState.objects.get(pk=1).flush_due_at is None
    # Nothing pending: the next flush sends nothing.
    assert productsup_flush_task.apply().get() is None
    assert productsup.count("POST", "/upload") == 1


def test_one_export_at_a_time(productsup, flush_settings, django_capture_on_commit_callbacks, enqueued):
    make_product("A", dirty=True)
    with export_lease(ttl_seconds=60):
        with pytest.raises(ExportBusy):
            productsup_export(full=True, triggered_by="command")
        # The flush finds the lease taken: it reschedules itself, the rows stay marked.
        with django_capture_on_commit_callbacks(execute=True):
            assert productsup_flush() is None
        assert enqueued == [{"countdown": 60}]
        # The full export task retries later (run eagerly here, its retries end while the lease is held).
        result = productsup_full_export_task.apply()
        assert isinstance(result.result, ExportBusy)
    assert productsup.calls == []
    assert productsup_export(full=False, triggered_by="change").status == "committed"


def test_an_expired_lease_is_taken_over(productsup, flush_settings):
    make_product("A", dirty=True)
    ProductsupExportState.objects.update_or_create(
        pk=1, defaults={"lease_holder": "dead-worker", "lease_expires_at": timezone.now() - timedelta(seconds=1)}
    )
    assert productsup_export(full=False, triggered_by="change").status == "committed"
    assert ProductsupExportState.objects.get(pk=1).lease_holder == ""


def test_an_abandoned_batch_is_discarded_by_the_next_export(productsup, flush_settings):
    from connectors.productsup.client import new_batch_id
    from exports.services import platform_client

    batch_id = new_batch_id()
    platform_client().upload(batch_id, [{"id": "HALF"}])
    ProductsupBatch.objects.create(batch_id=batch_id, kind="delta", transport="platform")
    make_product("A", dirty=True)

    productsup_export(full=False, triggered_by="change")

    abandoned = ProductsupBatch.objects.get(batch_id=batch_id)
    assert abandoned.status == "discarded" and "abandoned" in abandoned.error
    assert productsup.batch(batch_id)["status"] == "discarded"
    assert set(productsup.site_rows()) == {"A"}
