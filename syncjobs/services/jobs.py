"""Creating job rows: every creator (API, batch, webhook, admin, resync) goes through `job_create`."""

from __future__ import annotations

from typing import Any

from catalog.models import Product
from syncjobs.models import SyncJob, SyncStatus


def acting_user(user):
    """The signed-in user to record as "who asked", or None (anonymous, a webhook, a schedule)."""
    return user if getattr(user, "is_authenticated", False) else None


def job_create(
    *,
    reference: str,
    product: Product | None,
    operation: str,
    source: str,
    payload: dict[Any, Any],
    user=None,
    force: bool = False,
    presta_id: int | None = None,
) -> SyncJob:
    """Store a pending job for `product` as it is now (its version is what the job brings to the shop)."""
    return SyncJob.objects.create(
        reference=reference,
        product=product,
        operation=operation,
        source=source,
        status=SyncStatus.PENDING,
        force=force,
        payload=payload,
        product_version=product.version if product is not None else None,
        presta_id=presta_id,
        requested_by=acting_user(user),
    )
