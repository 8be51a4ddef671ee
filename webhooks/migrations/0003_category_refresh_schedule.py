from django.conf import settings
from django.db import migrations

from webhooks.schedules import ensure_category_refresh_schedule


def create(apps, schema_editor):
    ensure_category_refresh_schedule(
        apps.get_model("django_celery_beat", "PeriodicTask"),
        apps.get_model("django_celery_beat", "IntervalSchedule"),
        apps.get_model("django_celery_beat", "CrontabSchedule"),
        every_seconds=settings.PRESTASHOP_CATEGORY_REFRESH_SECONDS,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_delivery_intake"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
