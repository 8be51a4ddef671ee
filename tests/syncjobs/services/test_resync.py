"""Full resync, dry run, drift restore, time limits, the resync command and the default schedules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from catalog.models import Product
from syncjobs.models import ResyncRun, SyncJob
from syncjobs.services import resync as resync_module
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


def test_drift_is_read_in_bulk_and_only_what_differs_or_changed_is_written(two_products, sandbox_shop):
    r1, r2 = two_products
    Product.objects.filter(pk=r2.pk).update(price=Decimal("5.50"))  # changed here since its last push
    sandbox_shop.reset_calls()

    run = _run_resync()

    assert (run.checked, run.changed, run.failed) == (2, 1, 0)
    calls = [(method, path.split("?")[0]) for method, path in sandbox_shop.calls]
    assert calls == [
        ("GET", "/api/products"),  # both products, with the fields and associations compared
        ("GET", "/api/stock_availables"),  # both stock rows
        ("PATCH", f"/api/products/{r2.presta_id}"),
    ]
    assert sandbox_shop.product_by_reference("R2")["price"] == Decimal("5.5")
    sandbox_shop.reset_calls()
    again = _run_resync()
    assert again.changed == 0 and [m for m, _ in sandbox_shop.calls] == ["GET", "GET"]


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


def test_a_chunk_past_its_soft_time_limit_ends_the_run_failed_with_where_it_got(two_products, sandbox_shop):
    from unittest import mock

    from celery.exceptions import SoftTimeLimitExceeded

    from syncjobs.services.resync import resync_request

    run = resync_start()
    r1, r2 = two_products
    real = resync_module._unchanged
    calls = []

    def second_runs_out(run_, product, chunk):
        calls.append(product.reference)
        if len(calls) == 2:
            raise SoftTimeLimitExceeded()
        return real(run_, product, chunk)

    with mock.patch.object(resync_module, "_unchanged", side_effect=second_runs_out):
        with pytest.raises(SoftTimeLimitExceeded):
            resync_chunk(run_id=run.pk, product_ids=[r1.pk, r2.pk])
    run.refresh_from_db()
    assert run.status == "failed" and run.finished_at is not None
    assert run.checked == 1 and "R2" in run.error and "1 of 2" in run.error
    with mock.patch("syncjobs.tasks.full_resync_task.apply_async"):
        assert resync_request().status == "running"  # a new resync can start at once
