"""Retention: finished job rows pruned (the sweeper that loses nothing is services/recovery.py)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_celery_results.models import TaskResult

from syncjobs.models import SyncJob, SyncStatus

logger = logging.getLogger(__name__)


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
