"""The admin site as staff see it: our name, our schedules admin, no Celery internals.

- Title and header "Products Sync".
- django-celery-beat's periodic tasks are "Schedules": enable, disable, toggle and run need the change
  permission on periodic tasks (django-celery-beat's own actions declare none, so a viewer could switch
  the nightly resync off).
- django-celery-results' task and group results are hidden: the results backend keeps them for Celery,
  the sync jobs are what staff read.
"""

from __future__ import annotations

from django.contrib import admin
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import GroupResult, TaskResult

from .display import ADMIN_MEDIA

admin.site.site_header = "Products Sync"
admin.site.site_title = "Products Sync"
admin.site.index_title = "Back-office"
admin.site.site_url = "/"

for model in (TaskResult, GroupResult):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class ScheduleAdmin(PeriodicTaskAdmin):
    """django-celery-beat's admin, each list action declaring the permission it needs."""

    Media = ADMIN_MEDIA
    list_display = ("name", "enabled", "task", "scheduler", "last_run_at", "total_run_count")

    @admin.action(description="Enable selected schedules", permissions=["change"])
    def enable_tasks(self, request, queryset):
        return super().enable_tasks(request, queryset)

    @admin.action(description="Disable selected schedules", permissions=["change"])
    def disable_tasks(self, request, queryset):
        return super().disable_tasks(request, queryset)

    @admin.action(description="Toggle selected schedules", permissions=["change"])
    def toggle_tasks(self, request, queryset):
        return super().toggle_tasks(request, queryset)

    @admin.action(description="Run selected schedules now", permissions=["change"])
    def run_tasks(self, request, queryset):
        return super().run_tasks(request, queryset)


if admin.site.is_registered(PeriodicTask):
    admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, ScheduleAdmin)
