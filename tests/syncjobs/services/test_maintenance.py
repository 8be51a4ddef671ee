"""Retention: old rows pruned, failed ones kept longer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Product
from syncjobs.models import SyncJob
from syncjobs.services.maintenance import jobs_prune
from tests.factories.catalog import product_payload

URL = "/api/products/sync"
pytestmark = pytest.mark.django_db


@pytest.fixture
def two_products(api_client, sandbox_shop):
    for ref in ("R1", "R2"):
        assert api_client.post_json(URL, product_payload(reference=ref, name=f"Name {ref}")).status_code == 200
    return [Product.objects.get(reference=r) for r in ("R1", "R2")]


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
