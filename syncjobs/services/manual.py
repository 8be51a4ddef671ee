"""Staff-requested syncs: "sync to shop now" / "force resync" from the back-office.

The job goes through the same path as every other one (a stored pending job, enqueued after commit,
run by the worker), with source `admin` and the staff member who asked for it.
"""

from __future__ import annotations

from django.db import transaction

from catalog.models import Product
from syncjobs.models import SyncJob, SyncOperation, SyncSource

from .enqueue import job_enqueue
from .jobs import job_create


@transaction.atomic
def product_sync_request(
    *, product: Product, user=None, force: bool = False, enqueue: bool = True, source: str = SyncSource.ADMIN
) -> SyncJob:
    """Store a pending job that makes the shop match `product` as held now, and enqueue it (unless the
    caller runs it itself, like `manage.py resync`, whose jobs have source `command`)."""
    operation = SyncOperation.DELETE if product.is_deleted else SyncOperation.UPDATE
    job = job_create(
        reference=product.reference,
        product=product,
        operation=operation,
        source=source,
        force=force,
        payload={"operation": operation, "reference": product.reference, "requested": source, "force": force},
        presta_id=product.presta_id,
        user=user,
    )
    if enqueue:
        job_enqueue(job)
    return job


def products_sync_request(*, products, user=None, force: bool = False) -> list[SyncJob]:
    """One job per product (an admin action over a selection)."""
    return [product_sync_request(product=product, user=user, force=force) for product in products]
