"""Full resync, dry run, drift restore, the resync command, the sweeper and retention."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.models import Product
from syncjobs.models import ResyncRun, SyncJob
from syncjobs.services.maintenance import jobs_prune, jobs_sweep
from syncjobs.services.resync import resync_chunk, resync_start
from tests.factories.catalog import product_payload

URL = "/api/products/sync"
pytestmark = pytest.mark.django_db


@pytest.fixture
def two_products(api_client, sandbox_shop):
    for ref in ("R1", "R2"):
        assert api_client.post_json(URL, product_payload(reference=ref, name=f"Name {ref}")).status_code == 200
    return [Product.objects.get(reference=r) for r in ("R1", "R2")]


def _run_resync(dry_run=False, django_capture_on_commit_callbacks=None):
    run = resync_start(dry_run=dry_run)
    resync_chunk(run_id=run.pk, product_ids=list(Product.objects.values_list("pk", flat=True)))
    run.refresh_from_db()
    return run


def test_scheduled_resync_restores_hand_edits_and_deleted_products(two_products, sandbox_shop):
    r1, r2 = two_products
    sandbox_shop.edit_product_by_hand(r1.presta_id, name="Edited in the shop", price=Decimal("1"))
    sandbox_shop.delete_product_by_hand(r2.presta_id)
    jobs_before = SyncJob.objects.count()

    run = _run_resync()

    assert run.status == "completed" and run.checked == 2 and run.changed == 2 and run.failed == 0
    assert sandbox_shop.product_by_reference("R1")["name"][1] == "Name R1"
    assert sandbox_shop.product_by_reference("R1")["price"] == Decimal("1299.99")
    assert sandbox_shop.product_by_reference("R2") is not None
    assert SyncJob.objects.filter(source="schedule").count() == SyncJob.objects.count() - jobs_before == 2


def test_resync_of_an_unchanged_catalogue_leaves_no_job_rows(two_products, sandbox_shop):
    jobs_before = SyncJob.objects.count()

    run = _run_resync()

    assert (run.checked, run.changed, run.failed) == (2, 0, 0)
    assert SyncJob.objects.count() == jobs_before


def test_dry_run_reports_and_changes_nothing(two_products, sandbox_shop):
    r1, _ = two_products
    sandbox_shop.edit_product_by_hand(r1.presta_id, name="Edited in the shop")
    sandbox_shop.reset_calls()

    run = _run_resync(dry_run=True)

    assert run.changed == 1
    assert run.report[0]["reference"] == "R1" and run.report[0]["changes"]
    assert sandbox_shop.product_by_reference("R1")["name"][1] == "Edited in the shop"
    assert all(method in ("GET", "HEAD") for method, _ in sandbox_shop.calls)


def test_resync_command_forces_one_product(two_products, sandbox_shop, capsys):
    r1, _ = two_products
    sandbox_shop.edit_product_by_hand(r1.presta_id, name="Edited in the shop")

    call_command("resync", reference=["R1"], force=True)

    assert "R1: completed" in capsys.readouterr().out
    assert sandbox_shop.product_by_reference("R1")["name"][1] == "Name R1"
    assert SyncJob.objects.filter(reference="R1", source="command", force=True).exists()


def test_resync_command_dry_run_of_everything(two_products, sandbox_shop, capsys):
    call_command("resync", all=True, dry_run=True)

    assert "2 checked, 0 would change" in capsys.readouterr().out
    assert ResyncRun.objects.get().dry_run is True


def test_sweeper_re_enqueues_lost_jobs(two_products, sandbox_shop, monkeypatch):
    from syncjobs import tasks

    sent = []
    monkeypatch.setattr(tasks.sync_job_task, "apply_async", lambda args, **kw: sent.append(args[0]))
    old = timezone.now() - timedelta(hours=1)
    lost = SyncJob.objects.create(reference="R1", product=two_products[0], operation="update", source="webhook")
    overdue = SyncJob.objects.create(
        reference="R2",
        product=two_products[1],
        operation="update",
        source="webhook",
        status="failed",
        next_retry_at=old,
    )
    fresh = SyncJob.objects.create(reference="R2", product=two_products[1], operation="update", source="webhook")
    SyncJob.objects.filter(pk__in=[lost.pk, overdue.pk]).update(updated_at=old)

    assert jobs_sweep(stale_seconds=60) == 2
    assert sorted(sent) == sorted([lost.pk, overdue.pk])
    assert fresh.pk not in sent


def test_prune_keeps_recent_and_failed_jobs_longer(two_products, settings):
    settings.SYNC_RETENTION_DAYS = 30
    settings.SYNC_FAILED_RETENTION_DAYS = 180
    product = two_products[0]
    old_done = SyncJob.objects.create(
        reference="R1", product=product, operation="update", source="api", status="completed"
    )
    old_failed = SyncJob.objects.create(
        reference="R1", product=product, operation="update", source="api", status="failed"
    )
    SyncJob.objects.filter(pk__in=[old_done.pk, old_failed.pk]).update(updated_at=timezone.now() - timedelta(days=40))

    jobs_prune()

    assert not SyncJob.objects.filter(pk=old_done.pk).exists()
    assert SyncJob.objects.filter(pk=old_failed.pk).exists()
    assert SyncJob.objects.filter(source="api", status="completed").count() == 2  # the recent creates


def test_default_schedules_exist_and_setup_schedules_restores_them():
    from django_celery_beat.models import PeriodicTask

    names = {"Sweep stale sync jobs", "Prune old sync jobs", "Full resync to PrestaShop", "Productsup full export"}
    assert names <= set(PeriodicTask.objects.values_list("name", flat=True))  # created by the migrations
    PeriodicTask.objects.filter(name__in=names).delete()

    call_command("setup_schedules")

    tasks = {t.name: t for t in PeriodicTask.objects.filter(name__in=names)}
    assert set(tasks) == names
    assert tasks["Sweep stale sync jobs"].interval.every == 60
    assert tasks["Full resync to PrestaShop"].queue == "bulk"
