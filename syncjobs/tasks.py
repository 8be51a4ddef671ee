"""Celery tasks: each takes ids, re-reads the rows and calls one service.

Time limits: every task runs under CELERY_TASK_SOFT_TIME_LIMIT / CELERY_TASK_TIME_LIMIT (settings). The
services are imported inside the tasks because they import these tasks (to enqueue them) at the top:
the late import breaks that cycle.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.contrib.auth import get_user_model

from syncjobs.models import SyncAttempt, SyncJob

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def sync_job_task(job_id: int, trigger: str | None = None, user_id: int | None = None, reopen: bool = False):
    """Run one sync job. `trigger`/`user_id`/`reopen` are set by a staff retry from the admin."""
    from syncjobs.services.runner import job_run

    job = SyncJob.objects.filter(pk=job_id).only("attempts").first()
    if job is None:
        logger.warning("Sync job %s no longer exists", job_id)
        return None
    if trigger is None:
        trigger = SyncAttempt.Trigger.RETRY if job.attempts else SyncAttempt.Trigger.WORKER
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return job_run(job_id=job_id, trigger=trigger, user=user, reopen=reopen).status


@shared_task(acks_late=True)
def sync_jobs_task(job_ids: list[int]) -> int:
    """Run several jobs in turn: the initial import queues its jobs a chunk per message on `bulk` (100,000
    products are 5,000 messages, not 100,000). A job already final is skipped, so a redelivered chunk
    (its worker died) only runs what is left; the sweeper still sees each job on its own."""
    from syncjobs.services.runner import job_run

    ran = 0
    for job_id in job_ids:
        try:
            job_run(job_id=job_id, trigger=SyncAttempt.Trigger.WORKER)
        except SyncJob.DoesNotExist:
            logger.warning("Sync job %s no longer exists", job_id)
            continue
        ran += 1
    return ran


@shared_task(acks_late=True)
def sweep_stale_jobs_task() -> int:
    """One recovery pass (every worker also runs them on its own, every few seconds): orphaned runs, lost job
    and webhook delivery messages."""
    from syncjobs.services.recovery import jobs_recover

    report = jobs_recover()
    return len(report.orphaned) + len(report.resent) + len(report.deliveries)


@shared_task(acks_late=True)
def prune_old_jobs_task() -> int:
    from syncjobs.services.maintenance import jobs_prune

    return jobs_prune()


@shared_task(acks_late=True)
def full_resync_task(run_id: int | None = None, dry_run: bool = False) -> int:
    from syncjobs.services.resync import resync_start

    return resync_start(run_id=run_id, dry_run=dry_run).pk


@shared_task(acks_late=True)
def resync_chunk_task(run_id: int, product_ids: list[int]) -> int:
    from syncjobs.services.resync import resync_chunk

    return resync_chunk(run_id=run_id, product_ids=product_ids)
