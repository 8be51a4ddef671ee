"""Staff retries: a new attempt on the same job, recorded with who asked for it."""

from __future__ import annotations

from django.db import transaction

from syncjobs.models import SyncAttempt, SyncJob, SyncStatus

from .enqueue import job_enqueue
from .jobs import acting_user


@transaction.atomic
def job_retry(*, job: SyncJob, user=None, trigger: str = SyncAttempt.Trigger.ADMIN) -> bool:
    """Queue a new attempt of `job` (any status but processing). Returns False if it is running now."""
    job = SyncJob.objects.select_for_update().get(pk=job.pk)
    if job.status == SyncStatus.PROCESSING:
        return False
    job.status = SyncStatus.PENDING
    job.next_retry_at = None
    job.save(update_fields=["status", "next_retry_at", "updated_at"])
    staff = acting_user(user)
    job_enqueue(job, trigger=trigger, user_id=staff.pk if staff else None, reopen=True)
    return True


def jobs_retry(*, jobs, user=None) -> int:
    """Retry many jobs (an admin action); returns how many were queued."""
    return sum(1 for job in jobs if job_retry(job=job, user=user))
