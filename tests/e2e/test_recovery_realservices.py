"""Recovery on real services (issue 9): real `celery worker` processes on a private redis-server and
PostgreSQL, the sandbox PrestaShop over HTTP. The workers get only what a production operator sets
(`operator_only`): the default SYNC_RECOVERY_SECONDS, unless a test says otherwise.

Each test prints its figure (RECOVERY_… = seconds); `bench/recovery.py` runs them repeatedly and prints
medians, and observes the backlog for the full 10 minutes.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from catalog.models import Product
from catalog.validation import product_validate
from syncjobs.models import ResyncRun, SyncAttempt, SyncJob, SyncOperation, SyncSource, SyncStatus
from syncjobs.services.enqueue import job_enqueue, job_send
from syncjobs.services.intake import job_intake_product
from syncjobs.services.manual import product_sync_request
from tests.e2e.realservices import (  # noqa: F401 - fixtures, registered by name
    WEBHOOK_SECRET,
    fixture_private_redis,
    fixture_private_services,
    fixture_private_workers,
    fixture_sandbox,
    wait_for,
)
from tests.factories.backoffice import action_url
from tests.factories.catalog import product_payload
from tests.factories.images import image_item
from tests.factories.webhooks import WEBHOOK_URL, sign, webhook_payload
from webhooks.models import WebhookDelivery

pytestmark = [pytest.mark.realservices, pytest.mark.django_db(transaction=True)]

FINAL = (SyncStatus.COMPLETED, SyncStatus.PARTIAL)
RECOVERY = django_settings.SYNC_RECOVERY_SECONDS  # the default: the workers are not told otherwise


def queue_job(**overrides) -> int:
    """Store a product and its pending job and send its message after commit, as every enqueue path does."""
    payload = webhook_payload(**overrides)
    data = product_validate(payload, check_categories=lambda ids: [])
    with transaction.atomic():
        job = job_intake_product(data=data, payload=payload, source=SyncSource.WEBHOOK, converge=True)
        job_enqueue(job)
    return job.pk


def deliver(payload: dict) -> str:
    """A signed webhook delivery; its syncId."""
    body = json.dumps(payload).encode()
    response = Client().post(
        WEBHOOK_URL, data=body, content_type="application/json", HTTP_X_GESMART_SIGNATURE=sign(body, WEBHOOK_SECRET)
    )
    assert response.status_code == 200, response.content
    return response.json()["data"]["syncId"]


def wait_all_final(ids: list[int], *, timeout: float, pool) -> float:
    """Wait until every job is final; returns the monotonic time it happened."""

    def done():
        return SyncJob.objects.filter(pk__in=ids, status__in=FINAL).count() == len(ids)

    try:
        wait_for(done, timeout=timeout, interval=0.25, what="every job to complete")
    except pytest.fail.Exception:
        left = list(SyncJob.objects.filter(pk__in=ids).exclude(status__in=FINAL).values_list("reference", "status"))
        print(pool.logs())
        pytest.fail(f"{len(left)} jobs not completed within {timeout:.0f}s: {left[:10]}")
    return time.monotonic()


def assert_once_in_the_shop(sandbox, references: list[str], *, images: int) -> None:
    by_reference = Counter(p.get("reference") for p in sandbox.products())
    duplicates = {r: by_reference[r] for r in references if by_reference[r] != 1}
    assert not duplicates, f"products not exactly once in the shop: {duplicates}"
    for reference in references:
        product = sandbox.product_by_reference(reference)
        count = len(sandbox.store.product_images(int(product["id"])))
        assert count == images, f"{reference} has {count} images in the shop, expected {images}"


def test_whole_worker_sigkilled_with_jobs_in_flight_all_complete_within_the_recovery_time(private_workers, sandbox):
    first = private_workers.start("w1", concurrency=4)
    sandbox.latency_ms = 250
    references = [f"SIGK-{i}" for i in range(20)]
    ids = [queue_job(reference=r, name=f"Kill {r}", images=[image_item("front.png")]) for r in references]
    wait_for(
        lambda: SyncJob.objects.filter(pk__in=ids, status=SyncStatus.PROCESSING).count() >= 2,
        timeout=60,
        what="jobs in flight",
    )
    time.sleep(0.4)  # inside the shop calls

    private_workers.kill(first)  # main process and pool children: SIGKILL to the whole process group
    killed_at = time.monotonic()
    in_flight = SyncJob.objects.filter(pk__in=ids, status=SyncStatus.PROCESSING).count()
    sandbox.latency_ms = 20
    private_workers.start("w2", concurrency=4, wait=False)

    finished = wait_all_final(ids, timeout=RECOVERY + 30, pool=private_workers)
    print(f"RECOVERY_SIGKILL_SECONDS={finished - killed_at:.1f} (in flight at the kill: {in_flight})")
    assert in_flight >= 1
    lost = SyncAttempt.objects.filter(job_id__in=ids, error__startswith="The run was lost")
    assert lost.exists(), "no run was cut short by the kill"
    assert SyncJob.objects.filter(pk__in=ids, status=SyncStatus.COMPLETED).count() == len(ids)
    assert_once_in_the_shop(sandbox, references, images=1)


def test_broker_flushed_with_50_jobs_pending_all_complete_within_the_recovery_time(private_workers, sandbox):
    references = [f"FLUSH-{i}" for i in range(50)]
    ids = [queue_job(reference=r, name=f"Flushed {r}") for r in references]
    assert private_workers_queue_len(private_workers) == 50

    private_workers_redis(private_workers).flushdb()  # the broker restarted without persistence
    flushed_at = time.monotonic()
    private_workers.start("w1", concurrency=4, wait=False)

    finished = wait_all_final(ids, timeout=RECOVERY, pool=private_workers)
    print(f"RECOVERY_FLUSH_SECONDS={finished - flushed_at:.1f}")
    assert_once_in_the_shop(sandbox, references, images=0)


def delivery_jobs_final(sync_ids: list[str], *, timeout: float, pool) -> float:
    """Wait until every delivery has become a job and every job is final; returns when it happened."""

    def done():
        return SyncJob.objects.filter(sync_id__in=sync_ids, status__in=FINAL).count() == len(sync_ids)

    try:
        wait_for(done, timeout=timeout, interval=0.25, what="every delivery's job to complete")
    except pytest.fail.Exception:
        unapplied = WebhookDelivery.objects.filter(sync_id__in=sync_ids, processed_at__isnull=True).count()
        left = SyncJob.objects.filter(sync_id__in=sync_ids).exclude(status__in=FINAL).values_list("reference", "status")
        print(pool.logs())
        pytest.fail(f"within {timeout:.0f}s: {unapplied} deliveries not applied, jobs not final: {list(left)[:10]}")
    return time.monotonic()


def test_webhook_deliveries_whose_messages_were_flushed_all_complete_within_the_recovery_time(private_workers, sandbox):
    flushed = [f"DFLUSH-{i}" for i in range(10)]
    queued = [f"DQUEUED-{i}" for i in range(5)]
    sync_ids = [deliver(webhook_payload(reference=r, name=f"Flushed {r}")) for r in flushed]
    assert private_workers_queue_len(private_workers) == 10
    private_workers_redis(private_workers).flushdb()  # the broker restarted without persistence
    flushed_at = time.monotonic()
    # Accepted while the worker is down, after the flush: their messages wait in the queue, and are not sent twice.
    sync_ids += [deliver(webhook_payload(reference=r, name=f"Queued {r}")) for r in queued]
    private_workers.start("w1", concurrency=4, wait=False)

    finished = delivery_jobs_final(sync_ids, timeout=RECOVERY + 30, pool=private_workers)
    print(f"RECOVERY_DELIVERY_FLUSH_SECONDS={finished - flushed_at:.1f}")
    assert SyncJob.objects.filter(sync_id__in=sync_ids, status=SyncStatus.COMPLETED).count() == len(sync_ids)
    assert SyncJob.objects.filter(reference__in=flushed + queued).count() == len(sync_ids)  # one job each
    assert_once_in_the_shop(sandbox, flushed + queued, images=0)


def test_whole_worker_sigkilled_with_webhook_deliveries_in_flight_all_complete_within_the_recovery_time(
    private_workers, sandbox
):
    references = [f"DKILL-{i}" for i in range(12)]
    sync_ids = [deliver(webhook_payload(reference=r, name=f"Kill {r}")) for r in references]
    # The first four deliveries' rows are locked by another session, so the worker's four processes are in
    # the middle of applying them (their messages taken, not acknowledged) when it is killed.
    in_flight = list(WebhookDelivery.objects.filter(sync_id__in=sync_ids).order_by("pk")[:4])
    locked, release = threading.Event(), threading.Event()

    def hold_rows():
        with transaction.atomic():
            list(WebhookDelivery.objects.select_for_update().filter(pk__in=[d.pk for d in in_flight]))
            locked.set()
            release.wait(60)
        connection.close()

    holder = threading.Thread(target=hold_rows)
    holder.start()
    try:
        assert locked.wait(10)
        first = private_workers.start("w1", concurrency=4)
        wait_for(lambda: _sessions_waiting_for_a_lock() >= 4, timeout=60, what="the worker applying the deliveries")
        private_workers.kill(first)  # main process and pool children: SIGKILL to the whole process group
        killed_at = time.monotonic()
        assert private_workers_queue_len(private_workers) == len(references) - 4  # the four are with the dead
    finally:
        release.set()
        holder.join()
    private_workers.start("w2", concurrency=4, wait=False)

    finished = delivery_jobs_final(sync_ids, timeout=RECOVERY + 30, pool=private_workers)
    print(f"RECOVERY_DELIVERY_SIGKILL_SECONDS={finished - killed_at:.1f} (in flight at the kill: {len(in_flight)})")
    assert SyncJob.objects.filter(sync_id__in=sync_ids, status=SyncStatus.COMPLETED).count() == len(sync_ids)
    assert SyncJob.objects.filter(reference__in=references).count() == len(references)  # one job each
    assert_once_in_the_shop(sandbox, references, images=0)


def _sessions_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def private_workers_redis(pool):
    import redis

    return redis.Redis.from_url(pool.broker_url, socket_connect_timeout=2)


def private_workers_queue_len(pool) -> int:
    return private_workers_redis(pool).llen("sync")


class MessageCounter:
    """Every sync-job message published to the broker (Redis MONITOR: each LPUSH to the `sync` queue)."""

    _ID = re.compile(r"argsrepr\W+\((\d+),")

    def __init__(self, client) -> None:
        self.counts: Counter[int] = Counter()
        self.error: Exception | None = None
        self._client = client  # keeps its connection pool (and so the monitor's connection) open
        self._monitor = client.monitor()
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        try:
            for command in self._monitor.listen():
                text = command.get("command", "")
                if text.startswith("LPUSH sync ") and (match := self._ID.search(text)):
                    self.counts[int(match.group(1))] += 1
        except Exception as exc:  # noqa: BLE001 - the connection closes when the test ends
            self.error = exc

    def stop(self) -> None:
        try:
            self._monitor.connection.disconnect()
        except Exception:  # noqa: BLE001
            pass


def _backlog(size: int) -> list[int]:
    """`size` stored products, each with a pending job whose message is sent now (as a 100k resync does)."""
    Product.objects.bulk_create(
        [Product(reference=f"BL-{i:05d}", name=f"Backlog {i}", price=1, quantity=1) for i in range(size)],
        batch_size=1000,
    )
    products = list(Product.objects.filter(reference__startswith="BL-").order_by("pk"))
    SyncJob.objects.bulk_create(
        [
            SyncJob(
                reference=p.reference,
                product=p,
                operation=SyncOperation.UPDATE,
                source=SyncSource.SCHEDULE,
                product_version=p.version,
                dispatched_at=timezone.now(),
            )
            for p in products
        ],
        batch_size=1000,
    )
    ids = list(SyncJob.objects.filter(reference__startswith="BL-").order_by("pk").values_list("pk", flat=True))
    for job_id in ids:
        assert job_send(job_id)
    return ids


def test_a_long_backlog_is_never_sent_twice_and_only_lost_messages_are_sent_again(private_workers, sandbox):
    observe = float(os.environ.get("RECOVERY_BACKLOG_OBSERVE_SECONDS", "45"))
    recovery = int(os.environ.get("RECOVERY_BACKLOG_RECOVERY_SECONDS", "40"))  # window = recovery / 4
    counter = MessageCounter(private_workers_redis(private_workers))
    try:
        ids = _backlog(int(os.environ.get("RECOVERY_BACKLOG_JOBS", "5000")))
        sandbox.latency_ms = 150  # a slow worker: one job at a time, a few hundred ms each
        private_workers.start("slow", concurrency=1, SYNC_RECOVERY_SECONDS=str(recovery))
        started = time.monotonic()
        time.sleep(observe)
        done = SyncJob.objects.filter(pk__in=ids, status__in=FINAL).count()
        wait_for(
            lambda: sum(counter.counts.values()) >= len(ids),
            timeout=10,
            what=f"the monitor to catch up (counted {sum(counter.counts.values())}, error {counter.error!r})",
        )
        twice = {job_id: n for job_id, n in counter.counts.items() if n > 1}
        windows = observe / (recovery / 4)
        print(
            f"RECOVERY_BACKLOG jobs={len(ids)} observed={time.monotonic() - started:.0f}s (~{windows:.0f} windows) "
            f"done={done} messages={sum(counter.counts.values())} "
            f"messages_per_job={sum(counter.counts.values()) / len(ids):.4f} sent_twice={len(twice)}"
        )
        assert 0 < done < len(ids), "the backlog must still be waiting (a slow worker)"
        assert set(counter.counts) == set(ids) and not twice, f"sent more than once: {dict(list(twice.items())[:10])}"

        # Lose five queued messages (the newest, consumed last): exactly those five are sent again, once.
        client = private_workers_redis(private_workers)
        lost = [json.loads(raw)["headers"]["argsrepr"] for raw in client.lpop("sync", 5)]
        lost_ids = {int(text.strip("(),")) for text in lost}
        wait_for(
            lambda: all(counter.counts[i] == 2 for i in lost_ids),
            timeout=recovery,
            what="the lost messages to be sent again",
        )
        time.sleep(recovery / 4)  # one more window: nothing else is sent
        again = {job_id for job_id, n in counter.counts.items() if n > 1}
        assert again == lost_ids, f"sent again: {sorted(again - lost_ids)[:10]} besides the lost ones"
        assert max(counter.counts.values()) == 2
    finally:
        counter.stop()
        sandbox.latency_ms = 0


@pytest.fixture
def productsup_on(settings):
    """The web process tells Productsup of every change (its flush is enqueued on commit)."""
    settings.PRODUCTSUP_ENABLED = True


def test_broker_down_during_sync_and_batch_answers_200_and_every_job_completes_once_it_is_back(
    private_workers, private_redis, sandbox, api_client, productsup_on
):
    private_workers.start("w1", concurrency=2)
    private_redis.stop()  # the broker goes away

    sync = api_client.post_json("/api/products/sync", product_payload(reference="DOWN-1"))
    batch = api_client.post_json(
        "/api/products/sync/batch",
        {"products": [product_payload(reference=f"DOWN-B{i}") for i in range(3)]},
    )
    with transaction.atomic():  # staff's "sync to shop now": a job for the worker, its message refused
        queued = product_sync_request(product=Product.objects.get(reference="DOWN-1"), force=True).pk
    assert deliver(webhook_payload(reference="DOWN-W"))  # the webhook is answered 200 (its delivery is stored)

    assert sync.status_code == 200, sync.content
    assert sync.json()["data"]["status"] == "completed"
    assert batch.status_code == 200, batch.content
    assert batch.json()["data"]["successful"] == 3
    assert SyncJob.objects.get(pk=queued).status == SyncStatus.PENDING
    # What Productsup must hear of is kept: the four products in the shop wait for the flush the broker refused.
    assert Product.objects.filter(reference__startswith="DOWN-", productsup_dirty_at__isnull=False).count() == 4
    assert SyncJob.objects.get(pk=queued).dispatched_at is None  # never sent: the sweeper's to send

    private_redis.start()  # back, empty
    ids = list(SyncJob.objects.filter(reference__startswith="DOWN-").values_list("pk", flat=True))
    wait_all_final(ids, timeout=RECOVERY, pool=private_workers)
    assert SyncJob.objects.get(pk=queued).attempts == 1  # run by the worker once the broker was back
    assert_once_in_the_shop(sandbox, ["DOWN-1", "DOWN-B0", "DOWN-B1", "DOWN-B2"], images=0)


def test_a_resync_chunk_past_its_soft_time_limit_ends_the_run_and_a_new_one_starts_at_once(
    private_workers, sandbox, api_client, admin_client
):
    for i in range(6):
        assert api_client.post_json("/api/products/sync", product_payload(reference=f"SOFT-{i}")).status_code == 200
    private_workers.start("w1", concurrency=1, CELERY_TASK_SOFT_TIME_LIMIT="2", CELERY_TASK_TIME_LIMIT="30")
    sandbox.latency_ms = 1500  # the chunk's bulk reads of the shop alone take longer than the chunk may

    start = action_url("syncjobs_resyncrun", "start_resync")  # the dashboard's button
    assert admin_client.post(start).status_code == 302
    first = ResyncRun.objects.get()
    wait_for(
        lambda: ResyncRun.objects.filter(pk=first.pk).exclude(status=ResyncRun.Status.RUNNING).exists(),
        timeout=60,
        what="the run to end",
    )
    first.refresh_from_db()
    assert first.status == ResyncRun.Status.FAILED
    assert "ran out of time" in first.error and first.checked < 6
    assert not SyncJob.objects.filter(status=SyncStatus.PROCESSING).exists()

    sandbox.latency_ms = 0
    assert admin_client.post(start).status_code == 302
    second = ResyncRun.objects.exclude(pk=first.pk).get()  # not refused as "already running"
    wait_for(
        lambda: ResyncRun.objects.filter(pk=second.pk, status=ResyncRun.Status.COMPLETED).exists(),
        timeout=60,
        what="the new run to complete",
    )
    assert ResyncRun.objects.get(pk=second.pk).checked == 6
