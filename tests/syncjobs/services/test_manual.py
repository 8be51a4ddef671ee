from __future__ import annotations

from unittest import mock

import pytest

from catalog.models import Product
from syncjobs.models import SyncJob
from syncjobs.services.manual import product_sync_request, products_sync_request

pytestmark = pytest.mark.django_db


def test_staff_sync_stores_an_admin_job_and_enqueues_it_after_commit(
    stored, admin_user, django_capture_on_commit_callbacks
):
    stored(reference="MAN1")
    product = Product.objects.get(reference="MAN1")
    with (
        mock.patch("syncjobs.tasks.sync_job_task.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        job = product_sync_request(product=product, user=admin_user, force=True)
    job.refresh_from_db()
    assert (job.source, job.operation, job.force, job.requested_by) == ("admin", "update", True, admin_user)
    apply_async.assert_called_once()
    assert apply_async.call_args.args == ((job.pk,),)


def test_a_deleted_product_gets_a_delete_job_and_a_selection_one_job_each(stored, django_capture_on_commit_callbacks):
    stored(reference="MAN2")
    stored(reference="MAN3")
    Product.objects.filter(reference="MAN3").update(is_deleted=True)
    with (
        mock.patch("syncjobs.tasks.sync_job_task.apply_async"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        jobs = products_sync_request(products=Product.objects.filter(reference__in=["MAN2", "MAN3"]).order_by("pk"))
    assert [(j.reference, j.operation) for j in jobs] == [("MAN2", "update"), ("MAN3", "delete")]
    assert SyncJob.objects.filter(source="admin").count() == 2
