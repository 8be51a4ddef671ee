from django.conf import settings
from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from alerts.schedules import EVALUATE_NAME, ensure_alerts_schedule
from exports.schedules import FULL_EXPORT_NAME, ensure_full_export_schedule
from syncjobs.schedules import ensure_default_schedules
from webhooks.schedules import CATEGORY_REFRESH_NAME, ensure_category_refresh_schedule


class Command(BaseCommand):
    help = "Create the default Celery beat schedules (sweeper, pruning, nightly resync, Productsup export, alerts) if missing."

    def handle(self, *args, **options):
        created = ensure_default_schedules(
            PeriodicTask, IntervalSchedule, CrontabSchedule, full_resync_cron=settings.FULL_RESYNC_CRON
        )
        if ensure_full_export_schedule(
            PeriodicTask, IntervalSchedule, CrontabSchedule, cron=settings.PRODUCTSUP_FULL_EXPORT_CRON
        ):
            created.append(FULL_EXPORT_NAME)
        if ensure_alerts_schedule(PeriodicTask, IntervalSchedule, CrontabSchedule):
            created.append(EVALUATE_NAME)
        if ensure_category_refresh_schedule(
            PeriodicTask, IntervalSchedule, CrontabSchedule, every_seconds=settings.PRESTASHOP_CATEGORY_REFRESH_SECONDS
        ):
            created.append(CATEGORY_REFRESH_NAME)
        self.stdout.write(f"Created: {', '.join(created)}" if created else "All default schedules exist.")
