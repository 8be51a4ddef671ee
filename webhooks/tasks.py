"""Celery tasks of the webhook intake: apply one accepted delivery (ids only; the row is the truth), and
refresh the shop's category list the request path checks against."""

from __future__ import annotations

from celery import shared_task

from webhooks.categories import categories_refresh
from webhooks.services import delivery_process


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def webhook_delivery_task(delivery_id: int) -> str | None:
    job = delivery_process(delivery_id=delivery_id)
    return job.sync_id if job else None


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def shop_categories_refresh_task() -> bool:
    return categories_refresh()
