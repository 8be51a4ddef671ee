"""Creating default Celery beat schedules in django-celery-beat's tables, once.

Used by data migrations (with historical models) and `manage.py setup_schedules`. A schedule that
already exists under its name is left alone, so staff edits in the admin survive.
"""

from __future__ import annotations

import json


def ensure_periodic_task(
    PeriodicTask,
    IntervalSchedule,
    CrontabSchedule,
    *,
    name: str,
    task: str,
    every_seconds: int | None = None,
    cron: str | None = None,
    kwargs: dict | None = None,
    queue: str | None = None,
    description: str = "",
) -> bool:
    """Create the periodic task unless one of that name exists. True when created."""
    if PeriodicTask.objects.filter(name=name).exists():
        return False
    fields = {"name": name, "task": task, "kwargs": json.dumps(kwargs or {}), "description": description}
    if queue:
        fields["queue"] = queue
    if every_seconds is not None:
        fields["interval"], _ = IntervalSchedule.objects.get_or_create(every=every_seconds, period="seconds")
    else:
        if cron is None:
            raise ValueError("a schedule needs every_seconds or cron")
        minute, hour, day_of_month, month_of_year, day_of_week = cron.split()
        fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
            timezone="UTC",
        )
    PeriodicTask.objects.create(**fields)
    return True
