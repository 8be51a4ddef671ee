"""Productsup exports: mark changed products, debounce the delta flush, run full and delta batches.

Public entry points (what the rest of the service calls):

- `productsup_product_changed(product_ids=[...])`: mark products dirty and schedule the debounced flush
  after the current transaction commits.
- `productsup_export(full=..., triggered_by=...)`: send what is pending (delta) or everything (full) now.
- `productsup_flush()`: what the debounced task runs.
- staff: `productsup_batch_retry`, `productsup_batch_discard`, `productsup_process_trigger`,
  `productsup_process_refresh`.

Never lost, never twice (see ProductsupBatchItem):
- A product's dirty mark is set to *now* on every change. A batch records the exact mark it read with
  each row; after its commit a mark is cleared only if it is still that exact value. A change made while
  the batch was in flight moved the mark, so the product stays dirty and goes with the next delta.
- A batch streams the products once, in pk order, under one new batch id: a row is never in one
  commit twice. Upload requests are not blindly resent (an ambiguous failure could duplicate rows);
  instead a batch that fails midway is discarded and the whole batch is sent again under a new id.
  Marks are cleared only after a successful commit, so nothing in a failed batch is lost.
- One export at a time, across machines: a lease row taken by a conditional UPDATE (expires by itself
  if a worker dies; renewed while the export makes progress).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from catalog.models import Product
from connectors.http import Backoff, RemoteError
from connectors.productsup.client import PlatformClient, StreamClient, new_batch_id
from connectors.productsup.rows import deletion_row, product_row
from connectors.productsup.transports import (
    BatchStats,
    ExportFailed,
    ExportItem,
    ExportTransport,
    PlatformTransport,
    StreamTransport,
)
from exports import selectors
from exports.models import ProductsupBatch, ProductsupBatchItem, ProductsupExportState
from exports.tasks import productsup_flush_task

logger = logging.getLogger(__name__)

Status = ProductsupBatch.Status
Trigger = ProductsupBatch.Trigger
ITEM_WRITE_CHUNK = 1000
_between_attempts = Backoff(base=1.0, cap=30.0)
_sleep = time.sleep  # the pause between whole-batch attempts (tests replace it)


class ExportBusy(Exception):
    """Another export holds the lease (only one runs at a time)."""


class ExportRefused(Exception):
    """A staff action that does not apply to this batch."""


# --- clients and transport ---------------------------------------------------------------------
def platform_client() -> PlatformClient:
    return PlatformClient(
        api_url=settings.PRODUCTSUP_API_URL,
        client_id=settings.PRODUCTSUP_CLIENT_ID,
        client_secret=settings.PRODUCTSUP_CLIENT_SECRET,
        site=settings.PRODUCTSUP_SITE,
        timeout=settings.PRODUCTSUP_TIMEOUT,
        max_rows_per_upload=settings.PRODUCTSUP_UPLOAD_ROWS,
        max_wait=settings.PRODUCTSUP_MAX_WAIT_SECONDS,
    )


def stream_client() -> StreamClient:
    return StreamClient(
        api_url=settings.PRODUCTSUP_STREAM_API_URL,
        stream_id=settings.PRODUCTSUP_STREAM_ID,
        token=settings.PRODUCTSUP_STREAM_TOKEN,
        timeout=settings.PRODUCTSUP_TIMEOUT,
        max_wait=settings.PRODUCTSUP_MAX_WAIT_SECONDS,
    )


def export_transport(name: str | None = None) -> ExportTransport:
    """The transport PRODUCTSUP_TRANSPORT names: `platform` (batch upload/commit) or `stream`."""
    name = (name or settings.PRODUCTSUP_TRANSPORT or "platform").strip().lower()
    soft = settings.PRODUCTSUP_SOFT_DELETE
    if name == "platform":
        return PlatformTransport(platform_client(), soft_delete=soft)
    if name == "stream":
        return StreamTransport(stream_client(), soft_delete=soft, max_rows=settings.PRODUCTSUP_UPLOAD_ROWS)
    raise ImproperlyConfigured(f"PRODUCTSUP_TRANSPORT must be 'platform' or 'stream', not {name!r}")


# --- state row, lease and debounce marker ------------------------------------------------------
def _state_ensure() -> None:
    if not ProductsupExportState.objects.filter(pk=1).exists():
        try:
            with transaction.atomic():
                ProductsupExportState.objects.create(pk=1)
        except IntegrityError:
            pass  # created concurrently


@dataclass
class Lease:
    holder: str
    ttl: timedelta

    def renew(self) -> bool:
        return bool(
            ProductsupExportState.objects.filter(pk=1, lease_holder=self.holder).update(
                lease_expires_at=timezone.now() + self.ttl
            )
        )


@contextmanager
def export_lease(*, ttl_seconds: int | None = None) -> Iterator[Lease]:
    """Hold the export lease or raise ExportBusy. Taken by one conditional UPDATE (atomic in every
    database), released by the holder, and expiring on its own after `ttl` if the holder died."""
    _state_ensure()
    ttl = timedelta(seconds=ttl_seconds or settings.PRODUCTSUP_FULL_EXPORT_TIME_LIMIT + 60)
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:128]
    now = timezone.now()
    taken = (
        ProductsupExportState.objects.filter(pk=1)
        .filter(Q(lease_holder="") | Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .update(lease_holder=holder, lease_expires_at=now + ttl)
    )
    if not taken:
        raise ExportBusy("another Productsup export is running")
    try:
        yield Lease(holder=holder, ttl=ttl)
    finally:
        ProductsupExportState.objects.filter(pk=1, lease_holder=holder).update(lease_holder="", lease_expires_at=None)


def productsup_product_changed(*, product_ids: list[int]) -> None:
    """Mark these products for the next delta and schedule the debounced flush after commit.

    The mark is set to now on every change (not only when unset): a batch clears a mark only if it is
    still the exact value the batch read, so a change while a batch is in flight is never lost.
    """
    if not settings.PRODUCTSUP_ENABLED or not product_ids:
        return
    Product.objects.filter(pk__in=list(product_ids)).update(productsup_dirty_at=timezone.now())
    transaction.on_commit(productsup_flush_schedule, robust=True)


def productsup_flush_schedule() -> bool:
    """Schedule one delta flush PRODUCTSUP_FLUSH_SECONDS from now, unless one is scheduled already;
    at once when PRODUCTSUP_FLUSH_MAX_ROWS products wait. True when this call enqueued a task.

    The marker `flush_due_at` is claimed by a conditional UPDATE, so any number of callers on any number
    of machines enqueue one task. A marker far in the past means its task was lost: it is claimed again.
    """
    if not settings.PRODUCTSUP_ENABLED:
        return False
    _state_ensure()
    now = timezone.now()
    delay = max(0, int(settings.PRODUCTSUP_FLUSH_SECONDS))
    stale = now - timedelta(seconds=max(300, delay * 5))
    rows = selectors.products_dirty_count(limit=max(1, settings.PRODUCTSUP_FLUSH_MAX_ROWS))
    if rows == 0:
        return False
    state = ProductsupExportState.objects.filter(pk=1)
    if rows >= settings.PRODUCTSUP_FLUSH_MAX_ROWS:
        claimed = state.filter(
            Q(flush_due_at__isnull=True) | Q(flush_due_at__gt=now) | Q(flush_due_at__lt=stale)
        ).update(flush_due_at=now)
        countdown = 0
    else:
        claimed = state.filter(Q(flush_due_at__isnull=True) | Q(flush_due_at__lt=stale)).update(
            flush_due_at=now + timedelta(seconds=delay)
        )
        countdown = delay
    if not claimed:
        return False
    try:
        productsup_flush_task.apply_async(countdown=countdown)
    except Exception as exc:  # noqa: BLE001 - broker down: never fail the caller, whose data is committed
        # Give the marker back: the next change, or the recovery sweeper's pass, schedules it again.
        state.update(flush_due_at=None)
        logger.warning("Could not enqueue the Productsup flush; it is scheduled again later: %r", exc)
        return False
    return True


def productsup_flush() -> ProductsupBatch | None:
    """The debounced delta flush (what productsup_flush_task runs)."""
    _state_ensure()
    # Cleared first: a change from now on schedules its own flush.
    ProductsupExportState.objects.filter(pk=1).update(flush_due_at=None)
    if not settings.PRODUCTSUP_ENABLED:
        return None
    try:
        batch = productsup_export(full=False, triggered_by=Trigger.CHANGE)
    except ExportBusy:
        # A full export or another flush is running: try again later; the rows stay marked.
        transaction.on_commit(productsup_flush_schedule, robust=True)
        return None
    # Rows marked while the batch was in flight, or a failed batch: another flush later.
    if selectors.products_dirty_exist():
        transaction.on_commit(productsup_flush_schedule, robust=True)
    return batch


# --- export ------------------------------------------------------------------------------------
def productsup_export(
    *,
    full: bool,
    triggered_by: str,
    retry_of: ProductsupBatch | None = None,
    on_progress: Callable[[BatchStats], None] | None = None,
) -> ProductsupBatch | None:
    """Send every product (`full`) or every changed one (delta) now, as one batch.

    `on_progress(stats)` is called after every upload request (the command's progress bar).

    Returns the last batch (committed, or failed after PRODUCTSUP_BATCH_ATTEMPTS whole-batch attempts),
    or None when Productsup is disabled or a delta finds nothing to send. Raises ExportBusy when
    another export holds the lease.
    """
    if not settings.PRODUCTSUP_ENABLED:
        return None
    kind = ProductsupBatch.Kind.FULL if full else ProductsupBatch.Kind.DELTA
    transport = export_transport()
    ttl = (settings.PRODUCTSUP_FULL_EXPORT_TIME_LIMIT if full else settings.PRODUCTSUP_FLUSH_TIME_LIMIT) + 60
    with export_lease(ttl_seconds=ttl) as lease:
        _recover_abandoned(transport)
        if not full and not selectors.products_dirty_exist():
            return None
        columns = selectors.export_spec_columns()
        attempts = max(1, settings.PRODUCTSUP_BATCH_ATTEMPTS)
        previous = retry_of
        batch: ProductsupBatch | None = None
        for attempt in range(1, attempts + 1):
            batch = _run_batch(
                kind=kind,
                transport=transport,
                triggered_by=triggered_by if attempt == 1 else Trigger.RETRY,
                attempt=attempt,
                retry_of=previous,
                columns=columns,
                lease=lease,
                on_progress=on_progress,
            )
            if batch.status in (Status.COMMITTED, Status.PARTIAL):
                return batch
            if not batch.error_details.get("retryable", True) or attempt == attempts:
                break
            previous = batch
            _sleep(_between_attempts.delay(attempt))
            lease.renew()
        return batch


def _export_items(batch: ProductsupBatch, *, full: bool, columns: list[str]) -> Iterator[ExportItem]:
    """The batch's rows, streamed from the database; records the dirty mark read with each row."""
    public_url = settings.PRESTASHOP_PUBLIC_URL
    soft = settings.PRODUCTSUP_SOFT_DELETE
    pending: list[ProductsupBatchItem] = []
    for product_id, dirty_at, source in selectors.export_sources(full=full):
        if dirty_at is not None:
            pending.append(ProductsupBatchItem(batch_id=batch.pk, product_id=product_id, dirty_at=dirty_at))
            if len(pending) >= ITEM_WRITE_CHUNK:
                ProductsupBatchItem.objects.bulk_create(pending)
                pending = []
        if source.is_deleted:
            yield ExportItem(deletion_row(source, soft=soft, public_url=public_url, columns=columns), True)
        else:
            yield ExportItem(product_row(source, public_url=public_url, columns=columns), False)
    if pending:
        ProductsupBatchItem.objects.bulk_create(pending)


def _run_batch(
    *,
    kind: str,
    transport: ExportTransport,
    triggered_by: str,
    attempt: int,
    retry_of: ProductsupBatch | None,
    columns: list[str],
    lease: Lease,
    on_progress: Callable[[BatchStats], None] | None = None,
) -> ProductsupBatch:
    batch = ProductsupBatch.objects.create(
        batch_id=new_batch_id(),
        kind=kind,
        transport=transport.name,
        triggered_by=triggered_by,
        attempt=attempt,
        retry_of=retry_of,
        status=Status.UPLOADING,
    )
    started = time.monotonic()

    def progress(stats: BatchStats) -> None:
        ProductsupBatch.objects.filter(pk=batch.pk).update(
            rows=stats.rows, requests=stats.requests, bytes=stats.bytes, deleted_rows=stats.deleted
        )
        lease.renew()
        if on_progress is not None:
            on_progress(stats)

    items = _export_items(batch, full=kind == ProductsupBatch.Kind.FULL, columns=columns)
    try:
        answer, stats = transport.send_batch(batch_id=batch.batch_id, kind=kind, items=items, on_progress=progress)
    except ExportFailed as exc:
        _record_stats(batch, exc.stats)
        out_of_time = isinstance(exc.cause, SoftTimeLimitExceeded)
        batch.status = Status.DISCARDED if exc.discarded else Status.FAILED
        batch.error = str(exc.cause)[:5000] or exc.cause.__class__.__name__
        details = exc.cause.as_dict() if isinstance(exc.cause, RemoteError) else {"type": exc.cause.__class__.__name__}
        batch.error_details = {**details, "stage": exc.stage, "retryable": exc.retryable, "discarded": exc.discarded}
        if exc.stats.errors:
            batch.error_details["errors"] = exc.stats.errors
        batch.finished_at = timezone.now()
        batch.duration_ms = int((time.monotonic() - started) * 1000)
        batch.save()
        # The rows stay marked: the next attempt (new batch id) or the next flush sends them again.
        logger.warning("Productsup %s batch %s %s: %s", kind, batch.batch_id, batch.status, batch.error)
        if out_of_time:
            raise exc.cause  # the task's time is up: recorded and discarded, no further attempt
        return batch

    now = timezone.now()
    with transaction.atomic():
        _record_stats(batch, stats)
        batch.commit_response = answer
        batch.status = Status.PARTIAL if stats.invalid else Status.COMMITTED
        if stats.invalid:
            batch.error = f"{stats.invalid} product(s) refused by the stream"
            batch.error_details = {"errors": stats.errors}
        batch.uploaded_at = batch.uploaded_at or now
        batch.committed_at = now
        batch.finished_at = now
        batch.duration_ms = int((time.monotonic() - started) * 1000)
        batch.save()
        cleared = _clear_dirty(batch)
    logger.info(
        "Productsup %s batch %s committed: %d rows, %d requests, %d bytes, %d marks cleared",
        kind,
        batch.batch_id,
        batch.rows,
        batch.requests,
        batch.bytes,
        cleared,
    )
    return batch


def _record_stats(batch: ProductsupBatch, stats: BatchStats) -> None:
    batch.rows = stats.rows
    batch.deleted_rows = stats.deleted
    batch.skipped_rows = stats.skipped
    batch.invalid_rows = stats.invalid
    batch.requests = stats.requests
    batch.bytes = stats.bytes
    batch.remote_batch_ids = stats.remote_batch_ids[-200:]
    if stats.requests:
        batch.uploaded_at = timezone.now()


def _clear_dirty(batch: ProductsupBatch) -> int:
    """Clear the marks this batch read, where they are still exactly what it read."""
    same_mark = ProductsupBatchItem.objects.filter(
        batch=batch, product_id=OuterRef("pk"), dirty_at=OuterRef("productsup_dirty_at")
    )
    return (
        Product.objects.filter(productsup_dirty_at__isnull=False)
        .filter(Exists(same_mark))
        .update(productsup_dirty_at=None)
    )


def _recover_abandoned(transport: ExportTransport) -> None:
    """Batches left `uploading` by a worker that died (we hold the lease, so none is really running)."""
    for batch in ProductsupBatch.objects.filter(status=Status.UPLOADING):
        try:
            if batch.transport == transport.name:
                transport.discard(batch.batch_id)
            batch.status = Status.DISCARDED
        except Exception as exc:  # noqa: BLE001 — recorded on the batch
            batch.status = Status.FAILED
            batch.error_details = {"discard": str(exc)}
        batch.error = batch.error or "abandoned: the worker stopped before the batch finished"
        batch.finished_at = timezone.now()
        batch.save(update_fields=["status", "error", "error_details", "finished_at"])


# --- staff actions -----------------------------------------------------------------------------
def productsup_batch_retry(*, batch: ProductsupBatch, triggered_by: str = Trigger.ADMIN) -> ProductsupBatch | None:
    """Send a failed or discarded batch again: a new batch of the same kind (a delta picks up every
    product still marked, which includes everything the failed batch carried)."""
    if batch.status not in (Status.FAILED, Status.DISCARDED):
        raise ExportRefused(f"batch {batch.batch_id} is {batch.status}; only failed or discarded batches are retried")
    return productsup_export(full=batch.kind == ProductsupBatch.Kind.FULL, triggered_by=triggered_by, retry_of=batch)


def productsup_batch_discard(*, batch: ProductsupBatch) -> ProductsupBatch:
    """Discard a batch that did not commit (nothing of it will be imported)."""
    if batch.status in (Status.COMMITTED, Status.PARTIAL, Status.DISCARDED):
        raise ExportRefused(f"batch {batch.batch_id} is {batch.status}; it cannot be discarded")
    export_transport(batch.transport).discard(batch.batch_id)
    batch.status = Status.DISCARDED
    batch.finished_at = batch.finished_at or timezone.now()
    batch.save(update_fields=["status", "finished_at"])
    return batch


def productsup_process_trigger(*, batch: ProductsupBatch | None = None, action: str = "import") -> str:
    """Start a Productsup process (staff only; commits already schedule one with automatic_import)."""
    with platform_client() as client:
        pid = client.trigger_process(
            action, batch_id=batch.batch_id if batch is not None and batch.transport == "platform" else None
        )
    if batch is not None:
        batch.process_id = pid
        batch.process_status = "queued"
        batch.save(update_fields=["process_id", "process_status"])
    return pid


def productsup_process_refresh(*, batch: ProductsupBatch) -> str:
    if not batch.process_id:
        raise ExportRefused(f"batch {batch.batch_id} has no process")
    with platform_client() as client:
        status = client.process_status(batch.process_id)
    batch.process_status = status
    batch.save(update_fields=["process_status"])
    return status
