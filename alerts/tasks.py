"""Beat runs `evaluate_alerts_task` every minute (the schedule is created by this app's migration)."""

from __future__ import annotations

from celery import shared_task

from .services import alerts_evaluate


@shared_task(acks_late=True, soft_time_limit=50, time_limit=58, ignore_result=True)
def evaluate_alerts_task() -> list[str]:
    return alerts_evaluate()
