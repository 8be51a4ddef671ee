"""Keeping the job table honest: the sweeper (nothing lost) and retention (old rows pruned)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_celery_results.models import TaskResult

from syncjobs.models import SyncJob, SyncStatus

from .enqueue import job_send

logger = logging.getLogger(__name__)


def jobs_sweep(*, stale_seconds: int | None = None, limit: int = 1000) -> int:
    """Re-enqueue jobs the broker or a worker lost: pending or processing and untouched for
    `SYNC_STALE_SECONDS`, or failed/partial with a retry that is overdue by that long. Running a job twice is
    harmless (runs are serialised per reference and a finished job is not run again)."""
    stale = timedelta(seconds=stale_seconds if stale_seconds is not None else settings.SYNC_STALE_SECONDS)
    now = timezone.now()
    cutoff = now - stale
    ids = list(
        SyncJob.objects.filter(
            Q(status__in=[SyncStatus.PENDING, SyncStatus.PROCESSING], updated_at__lt=cutoff)
            | Q(status__in=[SyncStatus.FAILED, SyncStatus.PARTIAL], next_retry_at__lt=cutoff)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent: list[int] = []
    for job_id in ids:
        if job_send(job_id):
            sent.append(job_id)
    # Only what was handed to the broker waits another stale period before the next sweep.
    SyncJob.objects.filter(pk__in=sent).update(updated_at=now)
    if sent:
        logger.info("Sweeper re-enqueued %d stale jobs", len(sent))
    return len(sent)


def jobs_prune(*, now=None) -> int:
    """Delete finished job rows (and their attempts) past retention; failed ones are kept longer."""
    now = now or timezone.now()
    done_cutoff = now - timedelta(days=settings.SYNC_RETENTION_DAYS)
    failed_cutoff = now - timedelta(days=settings.SYNC_FAILED_RETENTION_DAYS)
    deleted, _ = SyncJob.objects.filter(
        Q(status__in=[SyncStatus.COMPLETED, SyncStatus.PARTIAL], updated_at__lt=done_cutoff)
        | Q(status=SyncStatus.FAILED, next_retry_at__isnull=True, updated_at__lt=failed_cutoff)
    ).delete()
    TaskResult.objects.filter(date_done__lt=done_cutoff).delete()
    return deleted
