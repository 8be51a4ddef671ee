"""Handing jobs to the worker: the one enqueue path of the app, and its one broker-down policy.

A message is sent only once the transaction that stored the job has committed. If the broker cannot
take it, the failure is logged and nothing else happens: the job is in the database, which is the
source of truth, and the recovery sweeper (`services/recovery.py`) sends it again. So a request whose
data is committed never fails because of the broker.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.logs import HEADER, log_context_get
from syncjobs.models import SyncJob, SyncSource
from syncjobs.tasks import sync_job_task, sync_jobs_task

logger = logging.getLogger(__name__)
CHUNK_JOBS = 20  # jobs per message of a chunked enqueue: a chunk stays well within the task time limit


def job_enqueue(
    job: SyncJob,
    *,
    countdown: float | None = None,
    trigger: str | None = None,
    user_id: int | None = None,
    reopen: bool = False,
) -> None:
    """Send the job's task after commit (`countdown` seconds later). Records when the message is due at a
    worker (`dispatched_at`), so the sweeper knows it was sent and leaves it alone meanwhile."""
    due = timezone.now() + timedelta(seconds=countdown or 0)
    SyncJob.objects.filter(pk=job.pk).update(dispatched_at=due)
    job.dispatched_at = due
    kwargs = {}
    if trigger is not None:
        kwargs = {"trigger": trigger, "user_id": user_id, "reopen": reopen}
    job_id = job.pk
    # An import's jobs (and their retries) wait on the `bulk` queue, so an import never delays webhook jobs.
    queue = "bulk" if job.source == SyncSource.IMPORT else None
    # The worker's log lines name the job (and, carried from the current context, the ERP's request).
    headers = {HEADER: {**log_context_get(), "sync_id": job.sync_id, "reference": job.reference}}
    transaction.on_commit(
        lambda: job_send(job_id, countdown=countdown, kwargs=kwargs, headers=headers, queue=queue), robust=True
    )


def job_send(
    job_id: int,
    *,
    countdown: float | None = None,
    kwargs: dict[Any, Any] | None = None,
    headers: dict[Any, Any] | None = None,
    queue: str | None = None,
) -> bool:
    """Publish the job's task now. False (logged) when the broker did not take it."""
    if task_send(
        sync_job_task, (job_id,), kwargs, countdown=countdown, headers=headers, queue=queue, what=f"sync job {job_id}"
    ):
        return True
    SyncJob.objects.filter(pk=job_id).update(dispatched_at=None)  # the sweeper sends it at its next pass
    return False


def task_send(
    task,
    args=(),
    kwargs: dict[Any, Any] | None = None,
    *,
    countdown: float | None = None,
    headers: dict[Any, Any] | None = None,
    queue: str | None = None,
    what="",
) -> bool:
    """Publish any task of the app now; a broker failure is logged and answered False, never raised."""
    try:
        task.apply_async(args, kwargs=kwargs or None, countdown=countdown, headers=headers, queue=queue)
    except Exception as exc:  # noqa: BLE001 - any broker failure: what the task works on is stored in the database
        logger.warning("Could not enqueue %s (%s); it is sent again later: %r", what or task.name, task.name, exc)
        return False
    return True


def task_send_on_commit(
    task, args=(), kwargs: dict[Any, Any] | None = None, *, what: str = "", on_failure=None
) -> None:
    """`task_send` once the current transaction has committed; `on_failure()` runs if the broker refused."""

    def send() -> None:
        if not task_send(task, args, kwargs, what=what) and on_failure is not None:
            on_failure()

    transaction.on_commit(send, robust=True)


def jobs_enqueue_in_chunks(job_ids: list[int], *, queue: str = "bulk") -> None:
    """Send many jobs after commit as one `sync_jobs_task` message per CHUNK_JOBS (the initial import),
    recording them as dispatched like `job_enqueue` does; a chunk the broker refused is left to the sweeper."""
    ids = list(job_ids)
    if not ids:
        return
    SyncJob.objects.filter(pk__in=ids).update(dispatched_at=timezone.now())
    headers = {HEADER: log_context_get()}

    def send() -> None:
        for start in range(0, len(ids), CHUNK_JOBS):
            chunk = ids[start : start + CHUNK_JOBS]
            if not task_send(sync_jobs_task, (chunk,), queue=queue, headers=headers, what=f"{len(chunk)} sync jobs"):
                SyncJob.objects.filter(pk__in=chunk).update(dispatched_at=None)

    transaction.on_commit(send, robust=True)
