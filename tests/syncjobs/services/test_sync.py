from __future__ import annotations

import pytest
from rest_framework.exceptions import ValidationError

from config.api.errors import NotFoundError, UpstreamError
from syncjobs.models import SyncJob
from syncjobs.services.sync import job_get_by_sync_id, product_sync, products_sync_batch
from tests.factories.catalog import product_payload

pytestmark = pytest.mark.django_db


def test_product_sync_answers_with_the_completed_job(sandbox_shop, user):
    job = product_sync(payload=product_payload(reference="SY1"), user=user)
    assert job.status == "completed" and job.requested_by == user
    assert sandbox_shop.product_by_reference("SY1") is not None
    assert job_get_by_sync_id(sync_id=job.sync_id) == job


def test_shop_down_is_an_upstream_error_carrying_the_sync_id(sandbox_shop, django_capture_on_commit_callbacks):
    sandbox_shop.down = True
    with pytest.raises(UpstreamError) as caught:
        product_sync(payload=product_payload(reference="SY2"))
    job = SyncJob.objects.get(reference="SY2")
    assert caught.value.data["syncId"] == job.sync_id and job.next_retry_at is not None


def test_batch_reports_each_item(sandbox_shop):
    result = products_sync_batch(products=[product_payload(reference="SY3"), {"reference": "SY4"}])
    assert (result["total"], result["successful"], result["failed"]) == (2, 1, 1)
    assert result["results"][0]["success"] and result["results"][0]["syncId"]
    assert result["results"][1]["error"] == "Validation failed"
    with pytest.raises(ValidationError):
        products_sync_batch(products="nope")


def test_unknown_sync_id_is_not_found():
    with pytest.raises(NotFoundError):
        job_get_by_sync_id(sync_id="sync_nope")
