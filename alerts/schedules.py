"""The alerts' beat schedule: every minute (editable by staff under Periodic tasks)."""

from __future__ import annotations

from config.schedules import ensure_periodic_task

EVALUATE_NAME = "Evaluate alerts"


def ensure_alerts_schedule(PeriodicTask, IntervalSchedule, CrontabSchedule) -> bool:
    return ensure_periodic_task(
        PeriodicTask,
        IntervalSchedule,
        CrontabSchedule,
        name=EVALUATE_NAME,
        task="alerts.tasks.evaluate_alerts_task",
        every_seconds=60,
        description="Failure rate, oldest pending job, PrestaShop reachable, Productsup batches (ALERT_*).",
    )
