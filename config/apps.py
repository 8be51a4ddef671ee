from django.apps import AppConfig
from django_celery_beat.apps import BeatConfig

from connectors.http import observe_requests


class ConfigConfig(AppConfig):
    default = True  # this module holds two app configs (and imports a third)
    name = "config"
    verbose_name = "Products Sync"

    def ready(self) -> None:
        from config import metrics  # needs the app registry (it reads jobs), so not at import time

        observe_requests(metrics.remote_request)


class SchedulesConfig(BeatConfig):
    """django-celery-beat under the name staff read in the admin."""

    default = False
    verbose_name = "Schedules"
