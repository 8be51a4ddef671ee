from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from catalog.models import Product
from syncjobs.models import SyncOperation, SyncSource, SyncStatus
from syncjobs.services.jobs import acting_user, job_create

pytestmark = pytest.mark.django_db


def test_acting_user_is_the_signed_in_user_or_none(user):
    assert acting_user(user) == user
    assert acting_user(AnonymousUser()) is None
    assert acting_user(None) is None


def test_job_create_stores_a_pending_job_of_the_product_as_it_is_now(user):
    product = Product.objects.create(reference="J1", name="Job", price=1, quantity=1)
    job = job_create(
        reference="J1",
        product=product,
        operation=SyncOperation.UPDATE,
        source=SyncSource.ADMIN,
        payload={"reference": "J1"},
        user=user,
        force=True,
        presta_id=7,
    )
    job.refresh_from_db()
    assert job.status == SyncStatus.PENDING
    assert (job.product_version, job.requested_by, job.force, job.presta_id) == (product.version, user, True, 7)
    assert job.sync_id.startswith("sync_")


def test_job_create_without_a_product_has_no_version():
    job = job_create(
        reference="GONE", product=None, operation=SyncOperation.DELETE, source=SyncSource.WEBHOOK, payload={}
    )
    assert job.product_version is None and job.requested_by is None
