"""Handing jobs to the worker, only once the transaction that stored them has committed."""

from __future__ import annotations

import logging

from django.db import transaction

from syncjobs.models import SyncJob

logger = logging.getLogger(__name__)


def job_enqueue(job: SyncJob, *, countdown: float | None = None) -> None:
    """Enqueue the job's task after commit. If the broker is down the job stays in the database and the
    sweeper re-enqueues it: the database, not the broker, is the source of truth."""
    from syncjobs.tasks import sync_job_task

    job_id = job.pk

    def send() -> None:
        try:
            sync_job_task.apply_async((job_id,), countdown=countdown)
        except Exception:
            logger.warning("Could not enqueue sync job %s; the sweeper will pick it up", job_id, exc_info=True)

    transaction.on_commit(send)
