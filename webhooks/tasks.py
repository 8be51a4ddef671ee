"""Celery task of the webhook intake: apply one accepted delivery (ids only; the row is the truth)."""

from __future__ import annotations

from celery import shared_task

from webhooks.services import delivery_process


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def webhook_delivery_task(delivery_id: int) -> str | None:
    job = delivery_process(delivery_id=delivery_id)
    return job.sync_id if job else None
