"""Running a sync job: reconcile the shop with the product as the service holds it now.

A job does not replay its own payload: it makes the shop match the newest data the service received
for that reference (or removes the product, if it is deleted). So an older job that runs late cannot
overwrite a newer update — it finds the shop already current and makes no call — and every retry,
whoever triggers it, converges on the same result.

The run is split in public steps so the batch endpoint can run many products' shop calls at once:
`job_begin` (database, under the reference lock) → `job_prepare` (database) → `job_execute` (HTTP only,
thread-safe) → `job_record` (database). `job_run` chains them for one job.

Retries: only the exceptions in TRANSIENT_EXCEPTIONS (the shop was unavailable, the database blinked)
are retried with backoff. Anything else — the shop refused the request, or a bug — fails the job at once,
with the traceback in the attempt row and the log. A soft time limit is recorded as a transient failure
and then re-raised, so the task really stops.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.utils import timezone

from catalog.models import Product, ProductImage
from config import metrics
from config.logs import log_context, log_context_get
from connectors.http import Backoff, RemoteError, RemoteUnavailable
from connectors.prestashop.diff import ShopCopy
from connectors.prestashop.state import ShopState
from connectors.prestashop.types import ProductSpec, PushFailed, PushResult
from exports.services import productsup_product_changed
from syncjobs.locks import lock_acquire, lock_release, reference_lock, reference_lock_name
from syncjobs.models import SyncAttempt, SyncJob, SyncOutcome, SyncSource, SyncStatus
from webhooks.categories import category_warnings

from .adapters import product_features, product_spec
from .enqueue import job_enqueue
from .jobs import acting_user
from .shop import get_shop
from .shop_ids import Dependencies, dependencies_resolve

logger = logging.getLogger(__name__)
WORKER_NAME = socket.gethostname()

# What may succeed if tried later. Everything else fails the job at once.
TRANSIENT_EXCEPTIONS: tuple[type[BaseException], ...] = (RemoteUnavailable, OperationalError, SoftTimeLimitExceeded)


class Action(StrEnum):
    PUSH = "push"  # make the shop's product match ours
    DELETE = "delete"  # remove it from the shop
    NOOP = "noop"  # nothing to do (the product row is gone)


@dataclass
class Work:
    """One job's run between its steps."""

    job: SyncJob
    attempt: SyncAttempt
    product: Product | None
    action: Action = Action.NOOP
    spec: ProductSpec | None = None
    state: ShopState | None = None  # as stored after the previous push
    force: bool = False
    verify: bool = False
    dependencies: Dependencies | None = None  # resolved beforehand for a whole batch (else in job_prepare)
    copy_read: bool = False  # the shop's copies were read in bulk: `shop_copy` is this product's (None: gone)
    shop_copy: ShopCopy | None = None
    result: PushResult | None = None
    deleted_id: int | None = None
    error: BaseException | None = None
    partial_state: ShopState | None = None  # how far a failed push got
    prepare_calls: int = 0
    execute_calls: int = 0  # Webservice calls job_execute made, counted also when the push failed part way
    t0: float = 0.0


class JobNotRunnable(Exception):
    """The job is already final (and the trigger does not re-open it)."""


def exception_is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_EXCEPTIONS)


def job_begin(*, job_id: int, trigger: str, user=None, reopen: bool = False) -> Work:
    """Mark the job processing and open a new attempt. Call with the reference lock held."""
    with transaction.atomic():
        job = SyncJob.objects.select_for_update().get(pk=job_id)
        done = job.status in (SyncStatus.COMPLETED, SyncStatus.PARTIAL, SyncStatus.FAILED)
        if done and job.next_retry_at is None and not reopen:
            raise JobNotRunnable(job.sync_id)
        now = timezone.now()
        job.status = SyncStatus.PROCESSING
        job.attempts += 1
        job.next_retry_at = None
        job.started_at = job.started_at or now
        if reopen:
            job.completed_at = None
        job.save(update_fields=["status", "attempts", "next_retry_at", "started_at", "completed_at", "updated_at"])
        attempt = SyncAttempt.objects.create(
            job=job,
            number=job.attempts,
            trigger=trigger,
            triggered_by=acting_user(user),
            started_at=now,
            worker=WORKER_NAME,
        )
    product = Product.objects.select_related("brand").filter(pk=job.product_id).first() if job.product_id else None
    work = Work(job=job, attempt=attempt, product=product, force=job.force, t0=time.monotonic())
    work.verify = _is_resync(job)
    return work


def _is_resync(job: SyncJob) -> bool:
    """A full resync's job (scheduled, or `resync --all`): it reads the shop copy to catch manual edits."""
    return job.source == SyncSource.SCHEDULE or (
        job.source == SyncSource.COMMAND and isinstance(job.payload, dict) and "resync" in job.payload
    )


def job_prepare(work: Work) -> None:
    """Decide what the run does and build what the shop needs (ids resolved, the spec). A failure is kept
    on `work` for `job_record`; a soft time limit is kept and re-raised."""
    product = work.product
    if product is None:
        work.action = Action.NOOP
        return
    if product.is_deleted:
        work.action = Action.DELETE
        return
    try:
        deps = work.dependencies
        if deps is None:  # known ids cost nothing; the rest is resolved under one cross-process lock
            client = get_shop().client
            calls_before = client.calls
            try:
                deps = dependencies_resolve(products=[product], features={product.pk: product_features(product)})
            finally:  # counted also when a lookup failed: the attempt shows every call it made
                work.prepare_calls = client.calls - calls_before
        work.state = ShopState.from_json(product.shop_state)
        work.spec = product_spec(
            product,
            manufacturer_id=deps.manufacturer_id(product),
            feature_values=deps.feature_values(product),
            state=work.state,
        )
        work.action = Action.PUSH
    except SoftTimeLimitExceeded as exc:
        work.error = exc
        raise
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the job by job_record
        work.error = exc


def job_execute(work: Work) -> None:
    """The shop calls. HTTP only (no database), so it can run in a worker thread."""
    if work.error is not None:
        return
    shop = get_shop()
    with shop.client.counting() as counter:
        try:
            _execute(shop, work)
        finally:
            work.execute_calls = counter[0]


def _execute(shop, work: Work) -> None:
    try:
        if work.action == Action.PUSH:
            work.result = shop.push_product(
                work.spec,
                work.state,
                force=work.force,
                verify=work.verify,
                shop_copy=work.shop_copy,
                copy_read=work.copy_read,
            )
        elif work.action == Action.DELETE:
            work.deleted_id = shop.delete_product(reference=work.product.reference, presta_id=work.product.presta_id)
    except PushFailed as exc:
        work.error = exc.error
        work.partial_state = exc.state
    except SoftTimeLimitExceeded as exc:
        work.error = exc
        raise
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the job by job_record
        work.error = exc


def _retry_delay(job: SyncJob, exc: BaseException | None) -> float:
    """Backoff, or the remote's Retry-After if longer; never above SYNC_RETRY_MAX_SECONDS (so a delayed
    message is never older than the broker's visibility timeout)."""
    backoff = Backoff(base=settings.SYNC_RETRY_BASE_SECONDS, cap=settings.SYNC_RETRY_MAX_SECONDS)
    delay = backoff.delay(job.attempts)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        delay = max(delay, float(retry_after))
    return min(max(delay, 1.0), float(settings.SYNC_RETRY_MAX_SECONDS))


def _schedule_retry(job: SyncJob, exc: BaseException | None, now) -> bool:
    """Queue the next attempt (after commit) if attempts are left. True when one was queued."""
    if job.attempts >= settings.SYNC_MAX_ATTEMPTS:
        job.next_retry_at = None
        return False
    delay = _retry_delay(job, exc)
    job.next_retry_at = now + timedelta(seconds=delay)
    job_enqueue(job, countdown=delay)
    return True


def _record_failure(work: Work, now) -> None:
    """Outcome 1: the run failed. Transient failures are retried; the rest end the job now."""
    job, attempt, exc = work.job, work.attempt, work.error
    if isinstance(exc, RemoteError):
        message = exc.message
        attempt.remote = exc.as_dict()
        job.error_details = [exc.as_dict()]
    elif isinstance(exc, SoftTimeLimitExceeded):
        message = "The run exceeded its time limit (CELERY_TASK_SOFT_TIME_LIMIT)"
        job.error_details = []
    else:
        logger.error("Sync job %s crashed", job.sync_id, exc_info=exc)
        message = f"Internal error: {type(exc).__name__}: {exc}"
        attempt.remote = {"traceback": "".join(traceback.format_exception(exc))[-4000:]}
        job.error_details = []
    attempt.outcome = SyncAttempt.Outcome.FAILED
    attempt.error = message
    job.status = SyncStatus.FAILED
    job.error = message
    if not (exception_is_transient(exc) and _schedule_retry(job, exc, now)):
        job.next_retry_at = None
        job.completed_at = now
    if work.product is not None:
        updates = {"last_sync_status": SyncStatus.FAILED}
        if work.partial_state is not None:
            # How far the push got (e.g. created, then failed on stock): the next try resumes there.
            updates.update(shop_state=work.partial_state.to_json(), presta_id=work.partial_state.presta_id)
        Product.objects.filter(pk=work.product.pk).update(**updates)


def _record_success(work: Work, now) -> None:
    job = work.job
    job.error = ""
    job.error_details = []
    job.warnings = []
    job.next_retry_at = None
    job.completed_at = now
    job.status = SyncStatus.COMPLETED
    work.attempt.outcome = SyncAttempt.Outcome.SUCCEEDED


def _record_noop(work: Work, now) -> None:
    """Outcome 2: no product row any more: nothing to do."""
    _record_success(work, now)
    work.job.outcome = SyncOutcome.ABSENT


def _record_delete(work: Work, now) -> None:
    """Outcome 3: the product was removed from the shop (or was not there)."""
    _record_success(work, now)
    job, product = work.job, work.product
    job.outcome = SyncOutcome.DELETED if work.deleted_id else SyncOutcome.ABSENT
    job.presta_id = work.deleted_id or job.presta_id
    Product.objects.filter(pk=product.pk, is_deleted=True).update(
        presta_id=None, shop_state={}, last_synced_at=now, last_sync_status=SyncStatus.COMPLETED
    )
    ProductImage.objects.filter(product=product).update(presta_image_id=None)


def _push_outcome(work: Work) -> SyncOutcome:
    result = work.result
    if result.adopted:
        return SyncOutcome.ADOPTED
    if not result.changed:
        return SyncOutcome.UNCHANGED
    return SyncOutcome.UPDATED if work.state is not None else SyncOutcome.CREATED


def _record_images_refused(work: Work, now) -> None:
    """Outcome 5 (on top of 4): the product is saved but some images are not: partial. Images the shop
    failed (rather than refused) are tried again later."""
    job, result = work.job, work.result
    job.status = SyncStatus.PARTIAL
    work.attempt.outcome = SyncAttempt.Outcome.PARTIAL
    job.error = "; ".join(
        f"Image {e.index + 1} ({e.file_name}) was refused by the shop: {e.message}" for e in result.image_errors
    )
    job.error_details = [{"field": f"images[{e.index}]", "message": e.message} for e in result.image_errors]
    if any(e.retryable for e in result.image_errors):
        _schedule_retry(job, None, now)


def _record_push(work: Work, now) -> None:
    """Outcome 4: the shop's product matches ours (created, updated, adopted or already unchanged)."""
    _record_success(work, now)
    job, result, product = work.job, work.result, work.product
    job.presta_id = result.presta_id
    job.images_processed = result.images_processed
    job.technical_data_processed = result.features_processed
    job.warnings = list(result.warnings) + category_warnings(product.categories or [])
    job.outcome = _push_outcome(work)
    if result.image_errors:
        _record_images_refused(work, now)
    work.attempt.error = job.error
    Product.objects.filter(pk=product.pk).update(
        presta_id=result.presta_id,
        shop_state=result.state.to_json(),
        last_synced_at=now,
        last_sync_status=job.status,
    )
    for sha, image_id in result.state.image_ids().items():
        ProductImage.objects.filter(product=product, blob_id=sha).update(presta_image_id=image_id)


def _tell_productsup(work: Work) -> bool:
    """Productsup gets what the ERP sent even when the shop copy did not change (e.g. a new `Gruppo`);
    a scheduled resync only tells it about products it had to correct."""
    if work.product is None or work.error is not None or work.action == Action.NOOP:
        return False
    changed = work.action == Action.DELETE or (work.result is not None and work.result.changed)
    return changed or not _is_resync(work.job)


def job_record(work: Work) -> SyncJob:
    """Store what the run did on the job, its attempt and the product, in one transaction."""
    job, attempt = work.job, work.attempt
    now = timezone.now()
    with transaction.atomic():
        attempt.finished_at = now
        attempt.duration_ms = int((time.monotonic() - work.t0) * 1000)
        if work.error is not None:
            _record_failure(work, now)
        elif work.action == Action.NOOP:
            _record_noop(work, now)
        elif work.action == Action.DELETE:
            _record_delete(work, now)
        else:
            _record_push(work, now)
        attempt.calls = work.prepare_calls + work.execute_calls
        job.duration_ms = int((job.completed_at - job.started_at).total_seconds() * 1000) if job.completed_at else None
        job.save()
        attempt.save()
        if job.is_final:
            seconds = job.duration_ms / 1000 if job.duration_ms is not None else None
            status, source = job.status, job.source
            transaction.on_commit(lambda: metrics.job_finished(status=status, source=source, seconds=seconds))
        if _tell_productsup(work):
            productsup_product_changed(product_ids=[work.product.pk])
    return job


class DeadlinePassed(Exception):
    """The shop had not answered by the deadline; the run carries on in the background (`job`: as it is now)."""

    def __init__(self, job: SyncJob) -> None:
        super().__init__(job.sync_id)
        self.job = job


_background = ThreadPoolExecutor(max_workers=16, thread_name_prefix="sync-deadline")


def _on_connection(conn, step, work: Work, context: dict[str, str]) -> None:
    """Run `step(work)` in this thread on `conn` (the request's connection, shared: the request waits), its
    log lines tagged like the request's."""
    connections[DEFAULT_DB_ALIAS] = conn
    try:
        with log_context(**{**context, "sync_id": work.job.sync_id, "reference": work.job.reference}):
            step(work)
    finally:
        connections[DEFAULT_DB_ALIAS] = connections.create_connection(DEFAULT_DB_ALIAS)


def _prepare_and_execute(work: Work) -> None:
    job_prepare(work)
    job_execute(work)


def _record_handed_off(conn, future: Future, work: Work, lock: str) -> None:
    """A run handed off at the deadline: wait for its shop calls, record them, release its lock."""
    connections[DEFAULT_DB_ALIAS] = conn
    try:
        try:
            future.result()
        except Exception as exc:  # noqa: BLE001 - recorded on the job like any failure
            work.error = work.error or exc
        job_record(work)
    except Exception:
        logger.exception(
            "The handed-off run of sync job %s failed; the recovery sweeper sends it again", work.job.sync_id
        )
    finally:
        try:
            lock_release(lock)
        finally:
            conn.close()
            conn.dec_thread_sharing()
            connections[DEFAULT_DB_ALIAS] = connections.create_connection(DEFAULT_DB_ALIAS)


def job_run_within(*, job_id: int, deadline: float, trigger: str = SyncAttempt.Trigger.REQUEST, user=None) -> SyncJob:
    """`job_run`, bounded: if the run (its preparation and shop calls) has not ended by `deadline`
    (time.monotonic()), raise DeadlinePassed; the run carries on in a background thread, on the request's
    database session (which holds the reference lock), and is recorded when the shop answers (or its retry
    queued for the worker). The request gets a fresh connection."""
    reference = SyncJob.objects.values_list("reference", flat=True).get(pk=job_id)
    lock = reference_lock_name(reference)
    conn = connections[DEFAULT_DB_ALIAS]
    lock_acquire(lock)
    handed_off = False
    try:
        try:
            work = job_begin(job_id=job_id, trigger=trigger, user=user)
        except JobNotRunnable:
            return SyncJob.objects.get(pk=job_id)
        conn.inc_thread_sharing()
        try:
            future = _background.submit(_on_connection, conn, _prepare_and_execute, work, log_context_get())
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                handed_off = True
                connections[DEFAULT_DB_ALIAS] = connections.create_connection(DEFAULT_DB_ALIAS)
                threading.Thread(
                    target=_record_handed_off, args=(conn, future, work, lock), name="sync-handoff", daemon=True
                ).start()
                raise DeadlinePassed(work.job) from None
        finally:
            if not handed_off:
                conn.dec_thread_sharing()
        return job_record(work)
    finally:
        if not handed_off:
            lock_release(lock)


def job_run(*, job_id: int, trigger: str = SyncAttempt.Trigger.WORKER, user=None, reopen: bool = False) -> SyncJob:
    """Run one job now, holding its reference's lock (so no two runs of one reference overlap anywhere)."""
    reference, sync_id = SyncJob.objects.values_list("reference", "sync_id").get(pk=job_id)
    with log_context(sync_id=sync_id, reference=reference), reference_lock(reference):
        try:
            work = job_begin(job_id=job_id, trigger=trigger, user=user, reopen=reopen)
        except JobNotRunnable:
            return SyncJob.objects.get(pk=job_id)
        try:
            job_prepare(work)
            job_execute(work)
        except SoftTimeLimitExceeded:
            try:
                job_record(work)  # the attempt is closed and a retry queued before the task stops
            except Exception:
                # The limit cut a database call short: drop the session (and the lock with it), so the
                # recovery sweeper finds the job orphaned and sends it again.
                logger.exception("Sync job %s: could not record its run past the time limit", work.job.sync_id)
                connections[DEFAULT_DB_ALIAS].close()
            raise
        return job_record(work)
