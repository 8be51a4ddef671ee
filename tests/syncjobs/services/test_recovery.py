"""The recovery sweeper's decisions on the database side (the broker side runs on real Redis and workers in
tests/e2e/test_recovery_realservices.py)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from syncjobs.locks import reference_lock
from syncjobs.models import SyncAttempt, SyncJob, SyncStatus
from syncjobs.services.recovery import job_claim, jobs_lost_candidates, jobs_orphaned, recovery_window

pytestmark = pytest.mark.django_db(transaction=True)


def _processing(job):
    SyncJob.objects.filter(pk=job.pk).update(status=SyncStatus.PROCESSING, attempts=1)
    SyncAttempt.objects.create(job=job, number=1, trigger="worker", started_at=timezone.now())


def test_a_processing_job_whose_lock_nobody_holds_is_orphaned_and_a_live_one_is_not(stored):
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks need PostgreSQL")
    dead, alive = stored(reference="ORPH1"), stored(reference="ORPH2")
    _processing(dead)
    _processing(alive)
    held, release = threading.Event(), threading.Event()

    def live_run():  # another database session holds ORPH2's lock, as a running worker does
        with reference_lock("ORPH2"):
            held.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=live_run)
    thread.start()
    try:
        assert held.wait(10)
        assert jobs_orphaned() == [dead.pk]
    finally:
        release.set()
        thread.join()
    dead.refresh_from_db()
    assert dead.status == SyncStatus.PENDING and dead.dispatched_at is None
    lost = dead.attempt_rows.get()
    assert lost.outcome == SyncAttempt.Outcome.FAILED and "session ended" in lost.error
    assert SyncJob.objects.get(pk=alive.pk).status == SyncStatus.PROCESSING


def test_only_jobs_sent_before_the_window_or_never_sent_are_candidates(stored, settings):
    settings.SYNC_RECOVERY_SECONDS = 120
    now = timezone.now()
    old = now - timedelta(seconds=recovery_window() + 5)
    recent, stale, unsent, retry_due, done = (stored(reference=f"CAND{i}") for i in range(5))
    SyncJob.objects.filter(pk=recent.pk).update(dispatched_at=now - timedelta(seconds=5))
    SyncJob.objects.filter(pk=stale.pk).update(dispatched_at=old)
    SyncJob.objects.filter(pk=unsent.pk).update(dispatched_at=None, updated_at=old)
    SyncJob.objects.filter(pk=retry_due.pk).update(status=SyncStatus.FAILED, next_retry_at=old, dispatched_at=old)
    SyncJob.objects.filter(pk=done.pk).update(status=SyncStatus.COMPLETED, dispatched_at=old)

    assert jobs_lost_candidates() == sorted([stale.pk, unsent.pk, retry_due.pk])


def test_no_job_is_claimed_twice_within_the_window(stored):
    job = stored(reference="CLAIM")
    now = timezone.now()
    assert job_claim(job.pk, now) is True
    assert job_claim(job.pk, now + timedelta(seconds=recovery_window() - 1)) is False
    assert job_claim(job.pk, now + timedelta(seconds=recovery_window() + 1)) is True
