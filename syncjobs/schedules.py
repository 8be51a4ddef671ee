"""Default Celery beat schedules, stored with django-celery-beat so staff can edit them in the admin.

Created by a data migration and by `manage.py setup_schedules` (idempotent: an existing schedule that
staff edited is left alone).
"""

from __future__ import annotations

import json

DEFAULTS = [
    # name, task, schedule (("interval", seconds) or ("cron", "m h dom mon dow")), kwargs
    ("Sweep stale sync jobs", "syncjobs.tasks.sweep_stale_jobs_task", ("interval", 60), {}),
    ("Prune old sync jobs", "syncjobs.tasks.prune_old_jobs_task", ("cron", "30 4 * * *"), {}),
    ("Full resync to PrestaShop", "syncjobs.tasks.full_resync_task", ("cron", None), {}),
]


def ensure_default_schedules(PeriodicTask, IntervalSchedule, CrontabSchedule, *, full_resync_cron: str) -> list[str]:
    created = []
    for name, task, (kind, value), kwargs in DEFAULTS:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        fields = {"name": name, "task": task, "kwargs": json.dumps(kwargs)}
        if kind == "interval":
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(every=value, period="seconds")
        else:
            minute, hour, dom, month, dow = (value or full_resync_cron).split()
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=minute, hour=hour, day_of_month=dom, month_of_year=month, day_of_week=dow, timezone="UTC"
            )
        PeriodicTask.objects.create(**fields)
        created.append(name)
    return created
