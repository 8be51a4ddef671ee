from __future__ import annotations

from unittest import mock

import pytest

from syncjobs.models import SyncJob, SyncStatus
from syncjobs.services.retry import job_retry, jobs_retry

pytestmark = pytest.mark.django_db


def test_a_failed_job_is_queued_again_by_that_staff_member(stored, admin_user, django_capture_on_commit_callbacks):
    job = stored(reference="RET1")
    SyncJob.objects.filter(pk=job.pk).update(status=SyncStatus.FAILED, error="shop down")
    with (
        mock.patch("syncjobs.tasks.sync_job_task.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert job_retry(job=job, user=admin_user) is True
    job.refresh_from_db()
    assert job.status == SyncStatus.PENDING and job.dispatched_at is not None
    assert apply_async.call_args.kwargs["kwargs"] == {"trigger": "admin", "user_id": admin_user.pk, "reopen": True}


def test_a_running_job_is_not_retried(stored, django_capture_on_commit_callbacks):
    job = stored(reference="RET2")
    SyncJob.objects.filter(pk=job.pk).update(status=SyncStatus.PROCESSING)
    other = stored(reference="RET3")
    SyncJob.objects.filter(pk=other.pk).update(status=SyncStatus.FAILED)
    with (
        mock.patch("syncjobs.tasks.sync_job_task.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert jobs_retry(jobs=SyncJob.objects.filter(pk__in=[job.pk, other.pk])) == 1
    assert SyncJob.objects.get(pk=job.pk).status == SyncStatus.PROCESSING
    assert [c.args[0] for c in apply_async.call_args_list] == [(other.pk,)]
