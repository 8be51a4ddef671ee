from django.conf import settings
from django.db import migrations


def create(apps, schema_editor):
    from exports.schedules import ensure_full_export_schedule

    apps.get_model("exports", "ProductsupExportState").objects.get_or_create(pk=1)
    ensure_full_export_schedule(
        apps.get_model("django_celery_beat", "PeriodicTask"),
        apps.get_model("django_celery_beat", "IntervalSchedule"),
        apps.get_model("django_celery_beat", "CrontabSchedule"),
        cron=settings.PRODUCTSUP_FULL_EXPORT_CRON,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("exports", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
