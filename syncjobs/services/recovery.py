"""Recovery: a job whose worker died, or whose broker message was lost, runs again within
SYNC_RECOVERY_SECONDS of a worker being available, and a long legitimate backlog is never re-sent.

Every worker runs `jobs_recover()` every few seconds in a thread of its main process (`recovery_thread_start`,
started when the worker is ready); only one process sweeps at a time (a database lock).

- A job in `processing` whose run is gone: the runner holds the job's reference lock (a PostgreSQL advisory
  lock of its own database session) from the start to the end of a run, and the database drops it the moment
  the worker's process dies. A processing job whose lock is free is orphaned: its open attempt is closed as
  lost, the job goes back to `pending` and is sent again at once. On SQLite (`make run`) there is no such
  lock: a job still processing past the task's hard time limit counts as orphaned.
- A job waiting for a message (`pending`, or a failed/partial one with a retry due) whose message is lost:
  the sweeper looks at what the broker holds — the `sync` queue and the tasks every live worker has reserved,
  is running or has scheduled — and sends again only the jobs that are in none of them, looked at twice a
  second apart. A job sent (or due) within the last window (a quarter of SYNC_RECOVERY_SECONDS) is never
  a candidate, so no job is sent twice within it. The broker is read in full only when it holds fewer
  messages than jobs expect one (a loss); a long backlog that is all queued costs two counts per pass.

- An accepted webhook delivery not yet applied (its `webhook_delivery_task` lost, or held by a dead worker):
  the same rules, in the same pass — a candidate once its `dispatched_at` is older than the window, sent
  again only when the broker holds no message for it (the messages are told apart by task name), claimed
  atomically. The broker's count covers both kinds, so a long backlog of deliveries is not listed either.

Running a job twice is harmless anyway: runs of one reference are serialised, a final job is not run
again, and the runner reconciles the shop with the product rather than replaying a payload.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone

from exports.services import productsup_flush_schedule
from syncjobs.locks import lock_release, lock_try, reference_lock_name
from syncjobs.models import SyncAttempt, SyncJob, SyncStatus
from webhooks.models import WebhookDelivery
from webhooks.services import delivery_send

from .enqueue import job_send

logger = logging.getLogger(__name__)
RECOVERY_LOCK = "sync:recovery"
SYNC_QUEUE = "sync"
BULK_QUEUE = "bulk"  # chunks of an import (`sync_jobs_task`), and job messages sent there
QUEUES = (SYNC_QUEUE, BULK_QUEUE)
ONE_JOB_TASK = "syncjobs.tasks.sync_job_task"
CHUNK_TASK = "syncjobs.tasks.sync_jobs_task"
DELIVERY_TASK = "webhooks.tasks.webhook_delivery_task"
BATCH = 1000


def recovery_window() -> float:
    """No job is sent twice within this many seconds (and none is a candidate sooner after it was sent)."""
    return max(5.0, settings.SYNC_RECOVERY_SECONDS / 4)


def recovery_interval() -> float:
    """Seconds between two passes of the sweeper."""
    return max(1.0, min(10.0, settings.SYNC_RECOVERY_SECONDS / 24))


@dataclass
class RecoveryReport:
    orphaned: list[int] = field(default_factory=list)  # processing jobs whose worker was gone
    resent: list[int] = field(default_factory=list)  # jobs whose message was lost, sent again
    deliveries: list[int] = field(default_factory=list)  # webhook deliveries whose message was lost, sent again
    skipped: bool = False  # another process was sweeping


@dataclass
class BrokerView:
    """What the broker holds for jobs and deliveries that wait: how many, and their ids by kind (queued or held
    by live workers; None: cannot be listed)."""

    count: int
    ids: dict[str, set[int]] | None


# --- orphaned runs ------------------------------------------------------------------------------
def jobs_orphaned(*, limit: int = BATCH) -> list[int]:
    """Processing jobs whose run is gone, put back to pending (their lost attempt closed)."""
    jobs = list(SyncJob.objects.filter(status=SyncStatus.PROCESSING).order_by("pk").values_list("pk", "reference"))
    jobs = jobs[:limit]
    found = []
    if connection.vendor == "postgresql":
        for job_id, reference in jobs:
            lock = reference_lock_name(reference)
            if not lock_try(lock):
                continue  # a live run holds it
            try:
                if _job_release(job_id, "its worker's database session ended"):
                    found.append(job_id)
            finally:
                lock_release(lock)
    else:
        limit_seconds = settings.CELERY_TASK_TIME_LIMIT + 30
        cutoff = timezone.now() - timedelta(seconds=limit_seconds)
        for job_id, _ in jobs:
            if SyncJob.objects.filter(pk=job_id, updated_at__lt=cutoff).exists() and _job_release(
                job_id, f"it was still running {limit_seconds} s after it started (past the task's time limit)"
            ):
                found.append(job_id)
    return found


def _job_release(job_id: int, why: str) -> bool:
    released = SyncJob.objects.filter(pk=job_id, status=SyncStatus.PROCESSING).update(
        status=SyncStatus.PENDING, dispatched_at=None, updated_at=timezone.now()
    )
    if released:
        SyncAttempt.objects.filter(job_id=job_id, outcome=SyncAttempt.Outcome.RUNNING).update(
            outcome=SyncAttempt.Outcome.FAILED, error=f"The run was lost: {why}.", finished_at=timezone.now()
        )
        logger.warning("Sync job %s was orphaned (%s); running it again", job_id, why)
    return bool(released)


# --- lost messages ------------------------------------------------------------------------------
# Two kinds of rows wait for a task message: sync jobs (`sync_job_task`, or a chunk of them in
# `sync_jobs_task`) and accepted webhook deliveries the worker has not applied (`webhook_delivery_task`).
# Both are recovered by the same rules: a candidate once sent (or due) before the window, re-sent only when
# the broker holds no message for it, claimed atomically so no row is sent twice within the window.
JOB, DELIVERY = "job", "delivery"
KINDS = (JOB, DELIVERY)
TASK_KINDS = {ONE_JOB_TASK: JOB, CHUNK_TASK: JOB, DELIVERY_TASK: DELIVERY}


def _no_ids() -> dict[str, set[int]]:
    return {kind: set() for kind in KINDS}


def _awaiting(now=None) -> Q:
    """Jobs that wait for a task message: pending, or failed/partial with a retry planned."""
    return Q(status=SyncStatus.PENDING) | Q(
        status__in=[SyncStatus.FAILED, SyncStatus.PARTIAL], next_retry_at__isnull=False
    )


def _waiting(kind: str):
    """The rows of `kind` that wait for a task message."""
    if kind == JOB:
        return SyncJob.objects.filter(_awaiting())
    return WebhookDelivery.objects.filter(status_code=200, processed_at__isnull=True, product__isnull=False)


def _lost_candidates(kind: str = JOB, now=None):
    """Rows waiting for a message that was sent (or due) before the window, or never sent."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=recovery_window())
    since = "updated_at" if kind == JOB else "received_at"
    stale = Q(dispatched_at__lt=cutoff) | Q(dispatched_at__isnull=True, **{f"{since}__lt": cutoff})
    return _waiting(kind).filter(stale).order_by("pk")


def jobs_lost_candidates(*, limit: int = BATCH) -> list[int]:
    return list(_lost_candidates(JOB).values_list("pk", flat=True)[:limit])


def deliveries_lost_candidates(*, limit: int = BATCH) -> list[int]:
    return list(_lost_candidates(DELIVERY).values_list("pk", flat=True)[:limit])


def messages_expected() -> int:
    """How many messages the broker should hold: every job and delivery sent and still waiting."""
    return sum(_waiting(kind).filter(dispatched_at__isnull=False).count() for kind in KINDS)


def _message_ids(raw: bytes | str) -> tuple[str | None, list[int]]:
    """The kind and ids a queued message carries (`sync_job_task`: one job; `sync_jobs_task`: a chunk of
    jobs; `webhook_delivery_task`: one delivery); (None, []) for any other message."""
    try:
        message = json.loads(raw)
        task = (message.get("headers") or {}).get("task")
        if task not in TASK_KINDS:
            return None, []
        body = message.get("body") or ""
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None, []
    return TASK_KINDS[task], _ids_of(task, args)


def _ids_of(task: str | None, args) -> list[int]:
    if not args or task not in TASK_KINDS:
        return []
    first = args[0]
    if task == CHUNK_TASK:
        return [int(i) for i in first if str(i).isdigit()] if isinstance(first, list) else []
    return [int(first)] if str(first).isdigit() else []


def _live_worker_ids(app) -> dict[str, set[int]]:
    """Ids, by kind, of the tasks live workers hold: reserved, running or scheduled (a countdown)."""
    inspect = app.control.inspect(timeout=1.0)
    ids = _no_ids()
    for answer in (inspect.reserved(), inspect.active(), inspect.scheduled()):
        for tasks in (answer or {}).values():
            for task in tasks:
                request = task.get("request", task)
                name = request.get("name")
                if name in TASK_KINDS:
                    ids[TASK_KINDS[name]].update(_ids_of(name, request.get("args") or []))
    return ids


def _still_waiting(ids: dict[str, set[int]]) -> int:
    """How many of these rows still wait for a message (a running job's own message is not one)."""
    return sum(_waiting(kind).filter(pk__in=ids[kind]).count() for kind in KINDS if ids[kind])


def broker_view(*, listing: bool) -> BrokerView:
    """The broker's messages for jobs and deliveries that wait for one: the `sync` and `bulk` queues (Redis:
    listed when `listing`, or when `bulk` holds any, else counted) and what live workers hold. Raises if the
    broker cannot be reached."""
    app = current_app
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1)
        channel = conn.default_channel
        queued_ids: dict[str, set[int]] | None = None
        client = getattr(channel, "client", None)
        if conn.transport.driver_type == "redis" and client is not None:
            depth = int(client.llen(SYNC_QUEUE))
            bulk = int(client.llen(BULK_QUEUE))
            if listing or bulk:  # a bulk message carries many jobs: only a listing can count them
                queued_ids = _no_ids()
                for queue, length in ((SYNC_QUEUE, depth), (BULK_QUEUE, bulk)):
                    for start in range(0, length + BATCH, BATCH):
                        for raw in client.lrange(queue, start, start + BATCH - 1):
                            kind, ids = _message_ids(raw)
                            if kind:
                                queued_ids[kind].update(ids)
        else:
            depth = sum(int(channel.queue_declare(queue=q, passive=True).message_count) for q in QUEUES)
    held_ids = _live_worker_ids(app)
    waiting = _still_waiting(held_ids)
    if queued_ids is None:
        return BrokerView(count=depth + waiting, ids=held_ids if depth == 0 else None)
    every = {kind: queued_ids[kind] | held_ids[kind] for kind in KINDS}
    return BrokerView(count=_still_waiting(queued_ids) + waiting, ids=every)


def messages_lost(*, pause: float = 1.0, limit: int = BATCH) -> dict[str, list[int]]:
    """Jobs and deliveries, by kind, the broker holds no message for: never sent, or sent and absent from two
    looks at the broker `pause` apart (at most `limit` of each kind)."""
    unsent = {
        kind: list(_lost_candidates(kind).filter(dispatched_at__isnull=True).values_list("pk", flat=True)[:limit])
        for kind in KINDS
    }
    if not any(_lost_candidates(kind).filter(dispatched_at__isnull=False).exists() for kind in KINDS):
        return unsent
    held, expected = broker_view(listing=False).count, messages_expected()
    if held >= expected:
        # Every row that expects a message can have one (a backlog, all queued): only the unsent are lost.
        return unsent
    logger.info("Recovery: the broker holds %d task messages, %d rows expect one: looking for the lost", held, expected)
    known = _no_ids()
    for look in range(2):
        if look:
            time.sleep(pause)
        view = broker_view(listing=True)
        if view.ids is None:
            logger.info("Recovery: the broker's queue cannot be listed and is not empty; only unsent rows re-sent")
            return unsent
        for kind in KINDS:
            known[kind] |= view.ids[kind]
    result = {}
    for kind in KINDS:
        lost: list[int] = []
        last = 0
        while len(lost) < limit:  # every candidate, in pk pages: a lost message may be anywhere in a backlog
            page = list(
                _lost_candidates(kind)
                .filter(dispatched_at__isnull=False, pk__gt=last)
                .values_list("pk", flat=True)[:5000]
            )
            if not page:
                break
            lost.extend(pk for pk in page if pk not in known[kind])
            last = page[-1]
        result[kind] = unsent[kind] + lost[: max(0, limit - len(unsent[kind]))]
    return result


def jobs_lost(*, pause: float = 1.0, limit: int = BATCH) -> list[int]:
    return messages_lost(pause=pause, limit=limit)[JOB]


def _claim(model, pk: int, now) -> bool:
    cutoff = now - timedelta(seconds=recovery_window())
    return bool(
        model.objects.filter(pk=pk)
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=cutoff))
        .update(dispatched_at=now)
    )


def job_claim(job_id: int, now) -> bool:
    """Mark the job sent now, unless another sweeper sent it within the window."""
    return _claim(SyncJob, job_id, now)


def delivery_claim(delivery_id: int, now) -> bool:
    """Mark the delivery sent now, unless it was sent (by the intake or a sweeper) within the window."""
    return _claim(WebhookDelivery, delivery_id, now)


def jobs_send(job_ids: list[int]) -> list[int]:
    sent = []
    for job_id in job_ids:
        if job_claim(job_id, timezone.now()) and job_send(job_id):
            sent.append(job_id)
    return sent


def deliveries_send(delivery_ids: list[int]) -> list[int]:
    """Publish these deliveries again (each claimed first); stops at the first the broker refuses."""
    rows = WebhookDelivery.objects.filter(pk__in=delivery_ids).order_by("pk").values_list("pk", "sync_id", "reference")
    sent = []
    for delivery_id, sync_id, reference in rows:
        if not delivery_claim(delivery_id, timezone.now()):
            continue
        if not delivery_send(delivery_id, sync_id=sync_id, reference=reference):
            break
        sent.append(delivery_id)
    return sent


# --- one pass, and the loop ---------------------------------------------------------------------------
def jobs_recover() -> RecoveryReport:
    """One pass of the sweeper: orphaned runs, lost job and delivery messages sent again; a lost Productsup
    flush too."""
    report = RecoveryReport()
    if not lock_try(RECOVERY_LOCK):
        report.skipped = True
        return report
    try:
        report.orphaned = jobs_send(jobs_orphaned())
        lost = messages_lost()
        report.resent = jobs_send(lost[JOB])
        report.deliveries = deliveries_send(lost[DELIVERY])
        productsup_flush_schedule()
    finally:
        lock_release(RECOVERY_LOCK)
    if report.orphaned or report.resent or report.deliveries:
        logger.warning(
            "Recovery: %d orphaned and %d lost jobs, %d lost webhook deliveries sent again",
            len(report.orphaned),
            len(report.resent),
            len(report.deliveries),
        )
    return report


class RecoveryThread(threading.Thread):
    """`jobs_recover()` every `recovery_interval()` seconds, in the worker's main process."""

    def __init__(self) -> None:
        super().__init__(name="sync-recovery", daemon=True)
        self.stopping = threading.Event()

    def run(self) -> None:
        logger.info("Recovery sweeper: a pass every %.0f s, window %.0f s", recovery_interval(), recovery_window())
        while not self.stopping.wait(recovery_interval()):
            try:
                jobs_recover()
            except Exception:
                logger.warning("Recovery pass failed; trying again", exc_info=True)
            finally:
                close_old_connections()
                connection.close()  # hold no database session between passes (the pool forks children)


_thread: RecoveryThread | None = None


def recovery_thread_start() -> RecoveryThread:
    global _thread
    if _thread is None or not _thread.is_alive():
        _thread = RecoveryThread()
        _thread.start()
    return _thread


def recovery_thread_stop() -> None:
    if _thread is not None:
        _thread.stopping.set()
