"""Celery tasks of the Productsup export (routed to the `exports` queue). They take no model instances.

The services are imported inside the tasks: they import these tasks at the top (to enqueue them), and
the late import breaks that cycle."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from exports.models import ProductsupBatch

logger = logging.getLogger(__name__)

_FLUSH_LIMIT = settings.PRODUCTSUP_FLUSH_TIME_LIMIT
_FULL_LIMIT = settings.PRODUCTSUP_FULL_EXPORT_TIME_LIMIT


@shared_task(acks_late=True, soft_time_limit=_FLUSH_LIMIT, time_limit=_FLUSH_LIMIT + 60)
def productsup_flush_task() -> int | None:
    """The debounced delta: send every marked product as one `delta` batch. Returns the batch pk."""
    from exports.services import productsup_flush

    batch = productsup_flush()
    return batch.pk if batch else None


@shared_task(bind=True, acks_late=True, soft_time_limit=_FULL_LIMIT, time_limit=_FULL_LIMIT + 60, max_retries=12)
def productsup_full_export_task(self, triggered_by: str = "schedule") -> int | None:
    """Every product in one `full` batch (beat schedule, admin, or on demand). Returns the batch pk."""
    from exports.services import ExportBusy, productsup_export

    try:
        batch = productsup_export(full=True, triggered_by=triggered_by)
    except ExportBusy as exc:
        # A delta is being sent: start as soon as it is done.
        raise self.retry(exc=exc, countdown=30) from exc
    if batch is not None and batch.status not in (ProductsupBatch.Status.COMMITTED, ProductsupBatch.Status.PARTIAL):
        if batch.error_details.get("retryable", True):
            logger.warning("Productsup full export failed (%s); retrying later", batch.error)
            raise self.retry(countdown=min(3600, 300 * 2**self.request.retries))
    return batch.pk if batch else None


@shared_task(acks_late=True, soft_time_limit=_FULL_LIMIT, time_limit=_FULL_LIMIT + 60)
def productsup_batch_retry_task(batch_id: int) -> int | None:
    """Staff retry of a failed/discarded batch (admin action): a new batch of the same kind."""
    from exports.services import productsup_batch_retry

    batch = ProductsupBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        return None
    new = productsup_batch_retry(batch=batch, triggered_by=ProductsupBatch.Trigger.ADMIN)
    return new.pk if new else None
