"""Create (or bring up to date) the back-office groups. Idempotent: run it after every deploy.

The one permission model (config/admin/permissions.py): `view_<model>` to look, `change_<model>` to operate.

- "Sync viewers": view permission on every model of the service and on the schedules; they see every
  back-office page and can change nothing — no retry, resync, sync, Productsup action or schedule edit.
- "Sync operators": the viewers' permissions plus operate (`change_*`) on sync jobs (retry), resyncs
  (start), products and brands (sync, fix a manufacturer id), Productsup batches (retry, discard, trigger,
  full export), and add/change/delete on the schedules (edit, enable, disable, run).

Only staff users log in to the admin: give a user `is_staff` and put them in one of these groups. A staff
user in neither group (and not a superuser) sees nothing of the back-office's data.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q

VIEW_APPS = ("catalog", "syncjobs", "webhooks", "exports", "alerts", "django_celery_beat")
VIEWERS = "Sync viewers"
OPERATORS = "Sync operators"
OPERATE = (
    ("syncjobs", "syncjob"),
    ("syncjobs", "resyncrun"),
    ("catalog", "product"),
    ("catalog", "brand"),
    ("exports", "productsupbatch"),
)
SCHEDULES = ("periodictask", "crontabschedule", "intervalschedule", "solarschedule", "clockedschedule")


def viewer_permissions():
    return Permission.objects.filter(content_type__app_label__in=VIEW_APPS, codename__startswith="view_")


def operator_permissions():
    operate = Q()
    for app_label, model in OPERATE:
        operate |= Q(content_type__app_label=app_label, codename=f"change_{model}")
    for model in SCHEDULES:
        operate |= Q(
            content_type__app_label="django_celery_beat",
            codename__in=[f"add_{model}", f"change_{model}", f"delete_{model}"],
        )
    return viewer_permissions() | Permission.objects.filter(operate)


class Command(BaseCommand):
    help = 'Create the "Sync viewers" (read-only) and "Sync operators" groups with exactly their permissions.'

    @transaction.atomic
    def handle(self, *args, **options):
        for name, permissions in ((VIEWERS, viewer_permissions()), (OPERATORS, operator_permissions())):
            group, created = Group.objects.get_or_create(name=name)
            permissions = list(permissions.distinct())
            group.permissions.set(permissions)
            self.stdout.write(
                f"{'Created' if created else 'Updated'} group {name!r} with {len(permissions)} permissions."
            )
