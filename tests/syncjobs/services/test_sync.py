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


@pytest.mark.django_db(transaction=True)
def test_a_slow_shop_is_answered_502_with_the_sync_id_by_the_deadline_and_the_product_arrives(
    api_client, sandbox_shop, settings
):
    import time

    from tests.e2e.realservices import wait_for

    settings.SYNC_REQUEST_DEADLINE_SECONDS = 2
    sandbox_shop.latency_ms = 1200  # every shop call: a create takes several seconds
    started = time.monotonic()
    response = api_client.post_json("/api/products/sync", product_payload(reference="SLOW-1", name="Slow"))
    elapsed = time.monotonic() - started

    assert response.status_code == 502, response.content
    assert elapsed < settings.SYNC_REQUEST_DEADLINE_SECONDS + 1, elapsed
    body = response.json()
    job = SyncJob.objects.get(reference="SLOW-1")
    assert body["success"] is False and body["data"]["syncId"] == job.sync_id
    wait_for(
        lambda: SyncJob.objects.filter(pk=job.pk, status="completed").exists(),
        timeout=60,
        what="the run to carry on and complete",
    )
    assert sandbox_shop.product_by_reference("SLOW-1")["name"][1] == "Slow"
    assert len([p for p in sandbox_shop.products() if p["reference"] == "SLOW-1"]) == 1
