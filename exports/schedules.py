"""The default Celery beat schedule of the Productsup full export, editable by staff in the admin."""

from __future__ import annotations

from config.schedules import ensure_periodic_task

FULL_EXPORT_NAME = "Productsup full export"
FULL_EXPORT_TASK = "exports.tasks.productsup_full_export_task"


def ensure_full_export_schedule(PeriodicTask, IntervalSchedule, CrontabSchedule, *, cron: str) -> bool:
    """Create the nightly schedule unless a task of that name exists. True when created."""
    return ensure_periodic_task(
        PeriodicTask,
        IntervalSchedule,
        CrontabSchedule,
        name=FULL_EXPORT_NAME,
        task=FULL_EXPORT_TASK,
        cron=cron,
        kwargs={"triggered_by": "schedule"},
        queue="exports",
        description="Every product in one full Productsup batch (PRODUCTSUP_FULL_EXPORT_CRON is the default).",
    )
