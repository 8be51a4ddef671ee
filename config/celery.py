"""The Celery app: `celery -A config worker` / `celery -A config beat` (docs/operations.md, Entry points).

Logging: the worker and beat use Django's LOGGING (config/logs.py) instead of Celery's own setup, so
their lines are JSON like every other process's; in JSON mode the start-up banners become one log line
each instead of ASCII art on stdout. A task carries the publisher's log context (request id, sync id,
reference) in a message header, and the worker restores it before the task runs.
"""

import logging
import os

import celery.apps.worker
from celery import Celery, signals
from celery.apps.beat import Beat
from celery.apps.worker import Worker
from kombu.utils.objects import cached_property

from config.logs import HEADER, configure, log_context_get, log_context_replace

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger("celery.banner")


def _json_logs() -> bool:
    from django.conf import settings

    return settings.LOG_FORMAT == "json"


def _say_as_log(msg: str, f=None) -> None:
    logger.warning("%s", msg.strip())


class ProductsSyncWorker(Worker):
    def on_before_init(self, **kwargs):
        if _json_logs():
            # Shutdown notices ("worker: Warm shutdown") are printed by Celery's signal handlers: log them.
            celery.apps.worker.safe_say = _say_as_log
        super().on_before_init(**kwargs)

    def emit_banner(self):
        if not _json_logs():
            return super().emit_banner()
        logger.info("celery worker starting: %s", " ".join(self.startup_info(artlines=False).split()))
        return None


class ProductsSyncBeat(Beat):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if _json_logs():
            self.quiet = True  # no banner printed on stdout; logged below instead

    def start_scheduler(self) -> None:
        if self.quiet and _json_logs():
            logger.info("celery beat starting: scheduler %s", self.scheduler_cls)
        super().start_scheduler()


class ProductsSyncCelery(Celery):
    @cached_property
    def Worker(self):
        return self.subclass_with_self(ProductsSyncWorker)

    @cached_property
    def Beat(self):
        return self.subclass_with_self(ProductsSyncBeat)


app = ProductsSyncCelery("products_sync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def _setup_logging(**kwargs) -> None:
    """Django's LOGGING for worker and beat (connecting this signal stops Celery configuring its own)."""
    from django.conf import settings

    configure(settings.LOGGING)


@signals.before_task_publish.connect
def _publish_log_context(headers=None, **kwargs) -> None:
    """A task carries the publisher's log context; explicit values in the header win."""
    if headers is None:
        return
    carried = {**log_context_get(), **(headers.get(HEADER) or {})}
    if carried:
        headers[HEADER] = carried


@signals.task_prerun.connect
def _restore_log_context(task=None, **kwargs) -> None:
    """Before each task in a worker: the context it was published with, and nothing from the last task."""
    if task is None or task.request.is_eager:
        return  # an eager task runs inside its caller's context
    log_context_replace(getattr(task.request, HEADER, None))
