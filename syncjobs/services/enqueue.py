"""Handing jobs to the worker, only once the transaction that stored them has committed."""

from __future__ import annotations

import logging

from django.db import transaction

from config.logs import HEADER, log_context_get
from syncjobs.models import SyncJob

logger = logging.getLogger(__name__)


def job_enqueue(job: SyncJob, *, countdown: float | None = None) -> None:
    """Enqueue the job's task after commit. If the broker is down the job stays in the database and the
    sweeper re-enqueues it: the database, not the broker, is the source of truth."""
    from syncjobs.tasks import sync_job_task

    job_id = job.pk
    # The worker's log lines name the job (and, carried from the current context, the ERP's request).
    headers = {HEADER: {**log_context_get(), "sync_id": job.sync_id, "reference": job.reference}}

    def send() -> None:
        try:
            sync_job_task.apply_async((job_id,), countdown=countdown, headers=headers)
        except Exception:
            logger.warning("Could not enqueue sync job %s; the sweeper will pick it up", job_id, exc_info=True)

    transaction.on_commit(send)
