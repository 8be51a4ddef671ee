"""Default Celery beat schedules of the sync pipeline, editable by staff in the admin (Periodic tasks)."""

from __future__ import annotations

from config.schedules import ensure_periodic_task


def ensure_default_schedules(PeriodicTask, IntervalSchedule, CrontabSchedule, *, full_resync_cron: str) -> list[str]:
    defaults = [
        {
            "name": "Sweep stale sync jobs",
            "task": "syncjobs.tasks.sweep_stale_jobs_task",
            "every_seconds": 60,
            "description": "Re-enqueue jobs a broker or worker lost (each worker does it too, every few seconds).",
        },
        {
            "name": "Prune old sync jobs",
            "task": "syncjobs.tasks.prune_old_jobs_task",
            "cron": "30 4 * * *",
            "description": "Delete job rows past SYNC_RETENTION_DAYS (failed: SYNC_FAILED_RETENTION_DAYS).",
        },
        {
            "name": "Full resync to PrestaShop",
            "task": "syncjobs.tasks.full_resync_task",
            "cron": full_resync_cron,
            "queue": "bulk",
            "description": "Every product, in chunks; restores manual edits in the shop.",
        },
    ]
    return [
        spec["name"]
        for spec in defaults
        if ensure_periodic_task(PeriodicTask, IntervalSchedule, CrontabSchedule, **spec)
    ]
