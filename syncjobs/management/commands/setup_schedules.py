from django.conf import settings
from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from syncjobs.schedules import ensure_default_schedules


class Command(BaseCommand):
    help = "Create the default Celery beat schedules (sweeper, pruning, nightly full resync) if missing."

    def handle(self, *args, **options):
        created = ensure_default_schedules(
            PeriodicTask, IntervalSchedule, CrontabSchedule, full_resync_cron=settings.FULL_RESYNC_CRON
        )
        self.stdout.write(f"Created: {', '.join(created)}" if created else "All default schedules exist.")
