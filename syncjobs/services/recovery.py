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

from .enqueue import job_send

logger = logging.getLogger(__name__)
RECOVERY_LOCK = "sync:recovery"
SYNC_QUEUE = "sync"
BULK_QUEUE = "bulk"  # chunks of an import (`sync_jobs_task`), and job messages sent there
QUEUES = (SYNC_QUEUE, BULK_QUEUE)
ONE_JOB_TASK = "syncjobs.tasks.sync_job_task"
CHUNK_TASK = "syncjobs.tasks.sync_jobs_task"
JOB_TASKS = (ONE_JOB_TASK, CHUNK_TASK)
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
    skipped: bool = False  # another process was sweeping


@dataclass
class BrokerView:
    """What the broker holds for sync jobs: ids queued or held by live workers (None: cannot be listed)."""

    count: int
    ids: set[int] | None


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
def _awaiting(now) -> Q:
    """Jobs that wait for a task message: pending, or failed/partial with a retry planned."""
    return Q(status=SyncStatus.PENDING) | Q(
        status__in=[SyncStatus.FAILED, SyncStatus.PARTIAL], next_retry_at__isnull=False
    )


def _lost_candidates(now=None):
    """Jobs waiting for a message that was sent (or due) before the window, or never sent."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=recovery_window())
    stale = Q(dispatched_at__lt=cutoff) | Q(dispatched_at__isnull=True, updated_at__lt=cutoff)
    return SyncJob.objects.filter(_awaiting(now) & stale).order_by("pk")


def jobs_lost_candidates(*, limit: int = BATCH) -> list[int]:
    return list(_lost_candidates().values_list("pk", flat=True)[:limit])


def jobs_expecting_a_message() -> int:
    return SyncJob.objects.filter(_awaiting(timezone.now()), dispatched_at__isnull=False).count()


def _message_job_ids(raw: bytes | str) -> list[int]:
    """The job ids a queued message carries (`sync_job_task`: one; `sync_jobs_task`: a chunk)."""
    try:
        message = json.loads(raw)
        task = (message.get("headers") or {}).get("task")
        if task not in JOB_TASKS:
            return []
        body = message.get("body") or ""
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return []
    return _ids_of(task, args)


def _ids_of(task: str | None, args) -> list[int]:
    if not args:
        return []
    first = args[0]
    if task == CHUNK_TASK and isinstance(first, list):
        return [int(i) for i in first if str(i).isdigit()]
    if task == ONE_JOB_TASK and str(first).isdigit():
        return [int(first)]
    return []


def _live_worker_ids(app) -> set[int]:
    """Job ids of the job tasks live workers hold: reserved, running or scheduled (a countdown)."""
    inspect = app.control.inspect(timeout=1.0)
    ids: set[int] = set()
    for answer in (inspect.reserved(), inspect.active(), inspect.scheduled()):
        for tasks in (answer or {}).values():
            for task in tasks:
                request = task.get("request", task)
                ids.update(_ids_of(request.get("name"), request.get("args") or []))
    return ids


def broker_view(*, listing: bool) -> BrokerView:
    """The broker's job messages for jobs that wait for one: the `sync` and `bulk` queues (Redis: listed when
    `listing`, or when `bulk` holds any, else counted) and what live workers hold. Raises if the broker
    cannot be reached."""
    app = current_app
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1)
        channel = conn.default_channel
        queued_ids: set[int] | None = None
        client = getattr(channel, "client", None)
        if conn.transport.driver_type == "redis" and client is not None:
            depth = int(client.llen(SYNC_QUEUE))
            bulk = int(client.llen(BULK_QUEUE))
            if listing or bulk:  # a bulk message carries many jobs: only a listing can count them
                queued_ids = set()
                for queue, length in ((SYNC_QUEUE, depth), (BULK_QUEUE, bulk)):
                    for start in range(0, length + BATCH, BATCH):
                        for raw in client.lrange(queue, start, start + BATCH - 1):
                            queued_ids.update(_message_job_ids(raw))
        else:
            depth = sum(int(channel.queue_declare(queue=q, passive=True).message_count) for q in QUEUES)
    held_ids = _live_worker_ids(app)
    # Only what workers hold for jobs that still wait (a running job's own message is not one).
    waiting = SyncJob.objects.filter(_awaiting(timezone.now()), pk__in=held_ids).count() if held_ids else 0
    if queued_ids is None:
        return BrokerView(count=depth + waiting, ids=held_ids if depth == 0 else None)
    queued = SyncJob.objects.filter(_awaiting(timezone.now()), pk__in=queued_ids).count() if queued_ids else 0
    return BrokerView(count=queued + waiting, ids=queued_ids | held_ids)


def jobs_lost(*, pause: float = 1.0, limit: int = BATCH) -> list[int]:
    """Candidates the broker holds no message for: never sent, or sent and absent from two looks at the
    broker `pause` apart (at most `limit`)."""
    candidates = _lost_candidates()
    unsent = list(candidates.filter(dispatched_at__isnull=True).values_list("pk", flat=True)[:limit])
    sent = candidates.filter(dispatched_at__isnull=False)
    if not sent.exists():
        return unsent
    held, expected = broker_view(listing=False).count, jobs_expecting_a_message()
    if held >= expected:
        # Every job that expects a message can have one (a backlog, all queued): only the unsent are lost.
        return unsent
    logger.info(
        "Recovery: the broker holds %d sync-job messages, %d jobs expect one: looking for the lost", held, expected
    )
    known: set[int] = set()
    for look in range(2):
        if look:
            time.sleep(pause)
        view = broker_view(listing=True)
        if view.ids is None:
            logger.info("Recovery: the broker's queue cannot be listed and is not empty; only unsent jobs re-sent")
            return unsent
        known |= view.ids
    lost: list[int] = []
    last = 0
    while len(lost) < limit:  # every candidate, in pk pages: a lost message may be anywhere in a long backlog
        page = list(
            _lost_candidates().filter(dispatched_at__isnull=False, pk__gt=last).values_list("pk", flat=True)[:5000]
        )
        if not page:
            break
        lost.extend(job_id for job_id in page if job_id not in known)
        last = page[-1]
    return unsent + lost[: max(0, limit - len(unsent))]


def job_claim(job_id: int, now) -> bool:
    """Mark the job sent now, unless another sweeper sent it within the window."""
    cutoff = now - timedelta(seconds=recovery_window())
    return bool(
        SyncJob.objects.filter(pk=job_id)
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=cutoff))
        .update(dispatched_at=now)
    )


def jobs_send(job_ids: list[int]) -> list[int]:
    sent = []
    for job_id in job_ids:
        if job_claim(job_id, timezone.now()) and job_send(job_id):
            sent.append(job_id)
    return sent


# --- one pass, and the loop ---------------------------------------------------------------------------
def jobs_recover() -> RecoveryReport:
    """One pass of the sweeper: orphaned runs and lost messages sent again; a lost Productsup flush too."""
    report = RecoveryReport()
    if not lock_try(RECOVERY_LOCK):
        report.skipped = True
        return report
    try:
        report.orphaned = jobs_send(jobs_orphaned())
        report.resent = jobs_send(jobs_lost())
        productsup_flush_schedule()
    finally:
        lock_release(RECOVERY_LOCK)
    if report.orphaned or report.resent:
        logger.warning("Recovery: %d orphaned and %d lost jobs sent again", len(report.orphaned), len(report.resent))
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
