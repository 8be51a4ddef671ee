"""The Celery app: `celery -A config worker` / `celery -A config beat` (SPEC §2)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("products_sync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
