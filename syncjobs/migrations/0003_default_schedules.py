from django.conf import settings
from django.db import migrations


def create(apps, schema_editor):
    from syncjobs.schedules import ensure_default_schedules

    ensure_default_schedules(
        apps.get_model("django_celery_beat", "PeriodicTask"),
        apps.get_model("django_celery_beat", "IntervalSchedule"),
        apps.get_model("django_celery_beat", "CrontabSchedule"),
        full_resync_cron=settings.FULL_RESYNC_CRON,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("syncjobs", "0002_resyncrun"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
