"""The recovery sweeper's decisions on the database side (the broker side runs on real Redis and workers in
tests/e2e/test_recovery_realservices.py)."""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta

import pytest
import redis
from django.db import connection
from django.test import Client
from django.utils import timezone

from syncjobs.locks import reference_lock
from syncjobs.models import SyncAttempt, SyncJob, SyncStatus
from syncjobs.services.recovery import (
    delivery_claim,
    job_claim,
    jobs_lost_candidates,
    jobs_orphaned,
    jobs_recover,
    recovery_window,
)
from tests.e2e.realservices import WEBHOOK_SECRET, fixture_private_redis, fixture_private_services  # noqa: F401
from tests.factories.webhooks import WEBHOOK_URL, sign, webhook_payload
from webhooks.models import WebhookDelivery

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


# --- webhook deliveries: the same rules, on a private redis-server (no worker) ----------------------------


def _accepted_delivery(reference: str) -> WebhookDelivery:
    """A signed delivery through the intake: its row stored, its message published to the private broker."""
    body = json.dumps(webhook_payload(reference=reference)).encode()
    response = Client().post(
        WEBHOOK_URL, data=body, content_type="application/json", HTTP_X_GESMART_SIGNATURE=sign(body, WEBHOOK_SECRET)
    )
    assert response.status_code == 200, response.content
    return WebhookDelivery.objects.get(reference=reference)


def _sent_before_the_window(*deliveries: WebhookDelivery) -> None:
    old = timezone.now() - timedelta(seconds=recovery_window() + 1)
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(received_at=old, dispatched_at=old)


def _queued_delivery_ids(broker) -> list[int]:
    client = redis.Redis.from_url(broker.url)
    return sorted(i for raw in client.lrange("sync", 0, -1) for i in _queued(raw))


def _queued(raw) -> list[int]:
    message = json.loads(raw)
    if message["headers"]["task"] != "webhooks.tasks.webhook_delivery_task":
        return []
    return json.loads(base64.b64decode(message["body"]))[0]


@pytest.mark.realservices
def test_a_delivery_the_broker_holds_is_not_sent_again_and_a_lost_one_is(private_services, settings):
    settings.SYNC_RECOVERY_SECONDS = 120
    lost = _accepted_delivery("DLOST")
    redis.Redis.from_url(private_services.url).flushdb()  # its message is gone
    held = _accepted_delivery("DHELD")
    _sent_before_the_window(lost, held)  # both due long ago: only the broker tells them apart
    assert _queued_delivery_ids(private_services) == [held.pk]

    report = jobs_recover()

    assert report.deliveries == [lost.pk]
    assert _queued_delivery_ids(private_services) == sorted([lost.pk, held.pk])  # one message each
    lost.refresh_from_db()
    assert lost.dispatched_at > timezone.now() - timedelta(seconds=10)


@pytest.mark.realservices
def test_a_delivery_sent_again_is_not_sent_again_within_the_window(private_services, settings):
    settings.SYNC_RECOVERY_SECONDS = 120
    delivery = _accepted_delivery("DAGAIN")
    broker = redis.Redis.from_url(private_services.url)
    broker.flushdb()
    _sent_before_the_window(delivery)
    assert jobs_recover().deliveries == [delivery.pk]

    broker.flushdb()  # lost again at once: still within the window of the re-send
    assert jobs_recover().deliveries == []
    assert delivery_claim(delivery.pk, timezone.now()) is False
    assert _queued_delivery_ids(private_services) == []

    _sent_before_the_window(delivery)  # the window has passed
    assert jobs_recover().deliveries == [delivery.pk]
    assert _queued_delivery_ids(private_services) == [delivery.pk]
