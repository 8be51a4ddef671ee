"""Create (or bring up to date) the back-office groups. Idempotent: run it after every deploy.

- "Sync viewers": view permission on every model of the service and on the beat schedules; they see
  everything in the admin but cannot retry, resync, sync or edit anything.
- "Sync operators": the viewers' permissions plus `syncjobs.change_syncjob` (retry jobs, start a full
  resync, sync a product from the admin), the Productsup batch permissions (retry/discard) and the
  beat schedules' change permission (edit schedules).

Only staff users log in to the admin: give a user `is_staff` and put them in one of these groups.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction

VIEW_APPS = ("catalog", "syncjobs", "webhooks", "exports", "django_celery_beat")
VIEWERS = "Sync viewers"
OPERATORS = "Sync operators"
OPERATOR_EXTRA = (
    ("syncjobs", "change_syncjob"),
    ("exports", "change_productsupbatch"),
    ("django_celery_beat", "add_periodictask"),
    ("django_celery_beat", "change_periodictask"),
    ("django_celery_beat", "add_crontabschedule"),
    ("django_celery_beat", "change_crontabschedule"),
    ("django_celery_beat", "add_intervalschedule"),
    ("django_celery_beat", "change_intervalschedule"),
)


class Command(BaseCommand):
    help = 'Create the "Sync viewers" (read-only) and "Sync operators" groups with their permissions.'

    @transaction.atomic
    def handle(self, *args, **options):
        view = list(Permission.objects.filter(content_type__app_label__in=VIEW_APPS, codename__startswith="view_"))
        extra = [
            perm
            for app_label, codename in OPERATOR_EXTRA
            for perm in Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        ]
        viewers, created_v = Group.objects.get_or_create(name=VIEWERS)
        viewers.permissions.set(view)
        operators, created_o = Group.objects.get_or_create(name=OPERATORS)
        operators.permissions.set(view + extra)
        for name, created, count in ((VIEWERS, created_v, len(view)), (OPERATORS, created_o, len(view) + len(extra))):
            self.stdout.write(f"{'Created' if created else 'Updated'} group {name!r} with {count} permissions.")
