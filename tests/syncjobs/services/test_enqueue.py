from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from syncjobs.models import SyncJob
from syncjobs.services.enqueue import job_enqueue, task_send_on_commit

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_message_leaves_only_after_commit_and_the_job_records_when_it_is_due(stored):
    job = stored(reference="ENQ1")
    with mock.patch("syncjobs.tasks.sync_job_task.apply_async") as apply_async:
        with transaction.atomic():
            job_enqueue(job, countdown=30)
            assert apply_async.call_count == 0  # nothing before commit
        apply_async.assert_called_once()
    assert apply_async.call_args.args == ((job.pk,),)
    assert apply_async.call_args.kwargs["countdown"] == 30
    due = SyncJob.objects.get(pk=job.pk).dispatched_at
    assert 25 < (due - timezone.now()).total_seconds() <= 30


def test_broker_down_is_logged_never_raised_and_leaves_the_job_to_the_sweeper(stored, caplog):
    job = stored(reference="ENQ2")
    with (
        mock.patch("syncjobs.tasks.sync_job_task.apply_async", side_effect=ConnectionError("broker down")),
        caplog.at_level(logging.WARNING, logger="syncjobs.services.enqueue"),
    ):
        with transaction.atomic():
            job_enqueue(job)
    job.refresh_from_db()
    assert job.status == "pending"
    assert job.dispatched_at is None  # never sent: the sweeper sends it at its next pass
    assert "Could not enqueue sync job" in caplog.text


def test_a_refused_task_runs_its_failure_handler_after_commit():
    from syncjobs.tasks import prune_old_jobs_task

    failed = []
    with mock.patch.object(prune_old_jobs_task, "apply_async", side_effect=OSError("no broker")):
        with transaction.atomic():
            task_send_on_commit(prune_old_jobs_task, on_failure=lambda: failed.append(True))
            assert failed == []
    assert failed == [True]
