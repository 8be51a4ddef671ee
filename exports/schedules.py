"""The default Celery beat schedule of the Productsup full export, stored with django-celery-beat so
staff can edit it in the admin (Periodic tasks). Idempotent: a schedule staff edited is left alone."""

from __future__ import annotations

import json

FULL_EXPORT_NAME = "Productsup full export"
FULL_EXPORT_TASK = "exports.tasks.productsup_full_export_task"


def ensure_full_export_schedule(PeriodicTask, CrontabSchedule, *, cron: str) -> bool:
    """Create the nightly schedule unless a task of that name exists. True when created."""
    if PeriodicTask.objects.filter(name=FULL_EXPORT_NAME).exists():
        return False
    minute, hour, day_of_month, month_of_year, day_of_week = cron.split()
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
        timezone="UTC",
    )
    PeriodicTask.objects.create(
        name=FULL_EXPORT_NAME,
        task=FULL_EXPORT_TASK,
        crontab=crontab,
        kwargs=json.dumps({"triggered_by": "schedule"}),
        queue="exports",
        description="Every product in one full Productsup batch (PRODUCTSUP_FULL_EXPORT_CRON is the default).",
    )
    return True
