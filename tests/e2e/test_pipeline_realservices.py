"""The asynchronous pipeline on real services: webhook → PostgreSQL → Redis → real `celery worker`
processes → the sandbox PrestaShop over HTTP (docs/api.md, Webhook; docs/operations.md, Health and recovery).

Run with PostgreSQL and Redis, e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dev CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python -m pytest tests/e2e/test_pipeline_realservices.py
Skipped with the reason when either is missing. Recovery after a worker dies relies on
`acks_late` + `reject_on_worker_lost` (pool child killed: the worker's main process puts the message
back at once) and on the recovery sweeper of every worker (whole worker killed: the job's lock is free
once the dead worker's database session is gone, so the next worker runs it again).
"""

from __future__ import annotations

import json
import os
import signal
import time
from decimal import Decimal

import pytest
from django.test import Client

from syncjobs.models import SyncAttempt, SyncJob, SyncStatus
from tests.e2e.realservices import (  # noqa: F401 - fixtures, registered as real_broker, realservices…
    WEBHOOK_SECRET,
    fixture_real_broker,
    fixture_realservices,
    fixture_sandbox,
    fixture_workers,
    wait_for,
)
from tests.factories.webhooks import WEBHOOK_URL, sign, webhook_payload
from webhooks.models import WebhookDelivery
from webhooks.services import delivery_process

pytestmark = [pytest.mark.realservices, pytest.mark.django_db(transaction=True)]

FINAL = (SyncStatus.COMPLETED, SyncStatus.PARTIAL)


def deliver(payload: dict, *, body: bytes | None = None) -> dict:
    body = body if body is not None else json.dumps(payload).encode()
    response = Client().post(
        WEBHOOK_URL,
        data=body,
        content_type="application/json",
        HTTP_X_GESMART_SIGNATURE=sign(body, WEBHOOK_SECRET),
    )
    assert response.status_code == 200, response.content
    return response.json()["data"]


def shop_products(shop, reference: str) -> list[dict]:
    """Every product the shop holds with this reference (a duplicate would show as two)."""
    return [p for p in shop.products() if p.get("reference") == reference]


def names(product: dict) -> set[str]:
    """The product's name in every language of the shop."""
    return set(product["name"].values())


def wait_completed(references_or_ids, *, timeout: float, pool=None):
    def done():
        jobs = list(SyncJob.objects.filter(pk__in=references_or_ids))
        return len(jobs) == len(references_or_ids) and all(j.status in FINAL for j in jobs)

    try:
        wait_for(done, timeout=timeout, interval=0.2, what="every job to complete")
    except pytest.fail.Exception:
        states = list(SyncJob.objects.filter(pk__in=references_or_ids).values_list("reference", "status", "error"))
        if pool is not None:
            print(pool.logs())
        pytest.fail(f"jobs not completed in {timeout}s: {states}")


def _job_ids(sync_ids: list[str], *, timeout: float = 30) -> list[int]:
    """The jobs of these deliveries, once a worker has applied them (the request stores the delivery only)."""
    wait_for(
        lambda: SyncJob.objects.filter(sync_id__in=sync_ids).count() == len(sync_ids),
        timeout=timeout,
        interval=0.1,
        what="a worker to apply every delivery",
    )
    jobs = dict(SyncJob.objects.filter(sync_id__in=sync_ids).values_list("sync_id", "pk"))
    return [jobs[sync_id] for sync_id in sync_ids]


def _apply_here(sync_ids: list[str]) -> list[int]:
    """Apply deliveries in this process, as a worker would (their jobs' messages go to the broker)."""
    for sync_id in sync_ids:
        delivery_process(delivery_id=WebhookDelivery.objects.get(sync_id=sync_id).pk)
    return _job_ids(sync_ids)


def _redis_len(url: str, queue: str = "sync") -> int:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return client.llen(queue)
    finally:
        client.close()


def test_webhook_storm_while_shop_down_then_up(workers, sandbox):
    w1 = workers.start("w1", wait=False)
    w2 = workers.start("w2", wait=False)
    workers.wait_ready(w1)
    workers.wait_ready(w2)
    sandbox.down = True

    references = [f"STORM-{i:02d}" for i in range(20)]
    sync_ids = [
        deliver(webhook_payload(reference=ref, name=f"Storm {ref}", quantity=i))["syncId"]
        for i, ref in enumerate(references)
    ]
    ids = _job_ids(sync_ids)

    # The shop refuses everything: jobs are tried, fail, and wait for their retry; nothing reaches the shop.
    wait_for(
        lambda: SyncJob.objects.filter(pk__in=ids, attempts__gte=1).count() >= 10,
        timeout=30,
        what="jobs to be tried while the shop is down",
    )
    assert not SyncJob.objects.filter(pk__in=ids, status__in=FINAL).exists()
    assert all(not shop_products(sandbox, ref) for ref in references)

    calls_before_up = len(sandbox.calls)
    sandbox.down = False
    wait_completed(ids, timeout=90, pool=workers)

    for ref in references:
        found = shop_products(sandbox, ref)
        assert len(found) == 1, f"{ref}: {len(found)} products in the shop"
    jobs = SyncJob.objects.filter(pk__in=ids)
    assert len({j.presta_id for j in jobs}) == len(references)
    # Each product was created once: one POST per reference once the shop was back.
    creates = [c for c in sandbox.calls[calls_before_up:] if c[0] == "POST" and c[1].startswith("/api/products")]
    assert len(creates) == len(references), creates
    assert SyncAttempt.objects.filter(job__in=ids, outcome=SyncAttempt.Outcome.FAILED).exists()


def test_same_delivery_three_times_and_racing_updates_on_two_workers(workers, sandbox):
    sandbox.latency_ms = 150  # every shop call is slow, so the two workers' jobs overlap
    w1 = workers.start("w1", wait=False)
    w2 = workers.start("w2", wait=False)
    workers.wait_ready(w1)
    workers.wait_ready(w2)

    body = json.dumps(webhook_payload(reference="DUP-1", name="Delivered thrice", price=12.5)).encode()
    dup_ids = [deliver({}, body=body)["syncId"] for _ in range(3)]
    race_ids = [
        deliver(webhook_payload(reference="RACE-1", name="Racing v1", price=10, quantity=1))["syncId"],
        deliver(webhook_payload(reference="RACE-1", name="Racing v2", price=20, quantity=2))["syncId"],
    ]
    ids = _job_ids(dup_ids + race_ids)
    wait_completed(ids, timeout=60, pool=workers)

    assert len(shop_products(sandbox, "DUP-1")) == 1
    [product] = shop_products(sandbox, "RACE-1")
    assert names(product) == {"Racing v2"}
    assert product["price"] == Decimal("20")
    assert int(product["quantity"]) == 2

    # Runs of one reference never overlapped, whichever worker took them.
    for reference in ("DUP-1", "RACE-1"):
        attempts = list(
            SyncAttempt.objects.filter(job__reference=reference)
            .order_by("started_at")
            .values_list("started_at", "finished_at")
        )
        for (_, finished), (started, _) in zip(attempts, attempts[1:], strict=False):
            assert finished <= started, f"two runs of {reference} overlapped"


def test_an_older_job_running_late_does_not_overwrite_a_newer_one(workers, sandbox, realservices):
    from syncjobs.tasks import sync_job_task

    # No worker yet: both deliveries are applied here, their jobs wait in the broker; flush them, then run
    # them newest first.
    old = deliver(webhook_payload(reference="LATE-1", name="Old name", price=1))["syncId"]
    new = deliver(webhook_payload(reference="LATE-1", name="New name", price=2))["syncId"]
    old_id, new_id = _apply_here([old, new])
    import redis

    redis.Redis.from_url(realservices).flushdb()
    workers.start("w1")

    sync_job_task.apply_async((new_id,))
    wait_completed([new_id], timeout=30, pool=workers)
    calls_before = len(sandbox.calls)
    sync_job_task.apply_async((old_id,))
    wait_completed([old_id], timeout=30, pool=workers)

    [product] = shop_products(sandbox, "LATE-1")
    assert names(product) == {"New name"}
    assert product["price"] == Decimal("2")
    assert SyncJob.objects.get(pk=old_id).outcome == "unchanged"
    late_calls = sandbox.calls[calls_before:]
    assert not [c for c in late_calls if c[0] != "GET"], f"the late job wrote to the shop: {late_calls}"


def test_sweeper_restores_deliveries_and_jobs_lost_by_the_broker(workers, sandbox, realservices):
    import redis

    # Deliveries whose messages the broker lost: no job exists until the sweeper sends them again.
    lost_deliveries = [deliver(webhook_payload(reference=f"SWEEP-D{i}"))["syncId"] for i in range(3)]
    # Deliveries applied (here, as a worker would), whose jobs' messages the broker lost.
    lost_jobs = [deliver(webhook_payload(reference=f"SWEEP-J{i}"))["syncId"] for i in range(3)]
    job_ids = _apply_here(lost_jobs)
    assert _redis_len(realservices) == 9  # 6 delivery messages, 3 job messages

    redis.Redis.from_url(realservices).flushdb()  # the broker loses every pending message
    workers.start("w1")
    time.sleep(1.0)  # a worker is consuming; nothing reaches it
    assert not SyncJob.objects.filter(sync_id__in=lost_deliveries).exists()
    assert set(SyncJob.objects.filter(pk__in=job_ids).values_list("status", flat=True)) == {SyncStatus.PENDING}

    # The worker's own recovery sweeper sends the deliveries and the jobs again, once their window has passed.
    wait_completed(_job_ids(lost_deliveries, timeout=120) + job_ids, timeout=120, pool=workers)
    for ref in [f"SWEEP-{kind}{i}" for kind in "DJ" for i in range(3)]:
        assert len(shop_products(sandbox, ref)) == 1


def _wait_mid_job(job_id: int, *, what: str):
    wait_for(
        lambda: SyncJob.objects.filter(pk=job_id, status=SyncStatus.PROCESSING).exists(),
        timeout=30,
        what=f"the job to be running ({what})",
    )
    time.sleep(0.5)  # inside a (slow) shop call


def _assert_first_attempt_lost(job_id: int) -> None:
    """The killed run really died mid-job (its attempt never finished: left open, or closed as lost by the
    recovery sweeper); a later attempt finished the job."""
    attempts = list(SyncAttempt.objects.filter(job_id=job_id).order_by("number"))
    assert len(attempts) >= 2, attempts
    first = attempts[0]
    assert first.outcome == SyncAttempt.Outcome.RUNNING or first.error.startswith("The run was lost"), first.error
    assert attempts[-1].outcome == SyncAttempt.Outcome.SUCCEEDED


def test_pool_child_sigkilled_mid_job_is_redelivered(workers, sandbox):
    worker = workers.start("w1")
    sandbox.latency_ms = 1500
    job_id = _job_ids([deliver(webhook_payload(reference="KILL-CHILD", name="Survivor"))["syncId"]])[0]
    _wait_mid_job(job_id, what="child kill")

    children = worker.children()
    assert children, "the prefork pool has no child process"
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    sandbox.latency_ms = 0

    # acks_late + reject_on_worker_lost: the main process requeues the message; a new child runs it.
    wait_completed([job_id], timeout=60, pool=workers)
    _assert_first_attempt_lost(job_id)
    [product] = shop_products(sandbox, "KILL-CHILD")
    assert names(product) == {"Survivor"}


def test_whole_worker_sigkilled_mid_job_completes_on_restart(workers, sandbox):
    first = workers.start("w1")
    sandbox.latency_ms = 1500
    job_id = _job_ids([deliver(webhook_payload(reference="KILL-ALL", name="Phoenix"))["syncId"]])[0]
    _wait_mid_job(job_id, what="worker kill")

    workers.kill(first)  # main process and children: nobody is left to put the message back
    sandbox.latency_ms = 0
    assert SyncJob.objects.get(pk=job_id).status == SyncStatus.PROCESSING

    # The new worker's recovery sweeper finds the job's lock free (the dead worker's session is gone) and runs it.
    workers.start("w2")
    wait_completed([job_id], timeout=60, pool=workers)
    _assert_first_attempt_lost(job_id)
    [product] = shop_products(sandbox, "KILL-ALL")
    assert names(product) == {"Phoenix"}
