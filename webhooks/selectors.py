"""Reads of webhook deliveries."""

from __future__ import annotations

from syncjobs.models import SyncJob, SyncOperation, SyncSource, SyncStatus

from .models import WebhookDelivery


def delivery_pending_job(*, sync_id: str) -> SyncJob | None:
    """The sync record of an accepted delivery the worker has not applied yet: `pending`, not saved."""
    delivery = (
        WebhookDelivery.objects.filter(sync_id=sync_id, status_code=200, processed_at__isnull=True)
        .only("sync_id", "reference", "operation", "received_at", "payload")
        .first()
    )
    if delivery is None:
        return None
    operation = delivery.operation if delivery.operation in SyncOperation.values else SyncOperation.UPDATE
    return SyncJob(
        sync_id=delivery.sync_id,
        reference=delivery.reference,
        operation=operation,
        source=SyncSource.WEBHOOK,
        status=SyncStatus.PENDING,
        created_at=delivery.received_at,
        payload=delivery.payload or {},
    )
