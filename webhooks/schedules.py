"""The beat schedule that keeps the shop's category list fresh for the webhook's category check."""

from __future__ import annotations

from config.schedules import ensure_periodic_task

CATEGORY_REFRESH_NAME = "Refresh the shop's category list"


def ensure_category_refresh_schedule(PeriodicTask, IntervalSchedule, CrontabSchedule, *, every_seconds: int) -> bool:
    return ensure_periodic_task(
        PeriodicTask,
        IntervalSchedule,
        CrontabSchedule,
        name=CATEGORY_REFRESH_NAME,
        task="webhooks.tasks.shop_categories_refresh_task",
        every_seconds=every_seconds,
        description="Reads the shop's category ids into the shared cache; the webhook checks categories there.",
    )
