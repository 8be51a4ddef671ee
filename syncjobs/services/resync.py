"""Full resync: walk every product in pk-ordered chunks and make the shop match it.

Each chunk is its own task on the `bulk` queue, so a long resync never holds a worker for hours and
never starves webhook jobs on the `sync` queue. A product whose shop copy already matches leaves no
job row behind (it is counted as checked); one that changed, drifted (edited or deleted by hand in the
shop) or failed keeps its job, with source `schedule`, like any other. A dry run reports what would
change and writes nothing to the shop.

A chunk that runs past its soft time limit stops at once, records how far it got, and ends the run
`failed` (so a new resync can start at once); a run whose task the broker refused fails the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import Product
from catalog.selectors import product_ids_in_chunks
from connectors.prestashop.state import ShopState
from syncjobs.models import ResyncRun, SyncAttempt, SyncOperation, SyncOutcome, SyncSource, SyncStatus
from syncjobs.tasks import full_resync_task, resync_chunk_task

from .adapters import product_features, product_spec
from .enqueue import task_send_on_commit
from .jobs import job_create
from .runner import job_run
from .shop import get_shop
from .shop_ids import shop_ids_load

logger = logging.getLogger(__name__)
CHUNK_SIZE = 100
REPORT_CAP = 500


def resync_fail(*, run_id: int, error: str) -> None:
    """End a running run as failed (a new resync may start at once)."""
    ResyncRun.objects.filter(pk=run_id, status=ResyncRun.Status.RUNNING).update(
        status=ResyncRun.Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def resync_request(
    *, dry_run: bool = False, user=None, source: str = SyncSource.ADMIN, force: bool = False
) -> ResyncRun:
    """Record a run and enqueue it (after commit)."""
    run = ResyncRun.objects.create(dry_run=dry_run, source=source, requested_by=user, force=force)
    task_send_on_commit(
        full_resync_task,
        kwargs={"run_id": run.pk, "dry_run": dry_run},
        what=f"resync run {run.pk}",
        on_failure=lambda: resync_fail(run_id=run.pk, error="The broker did not take the resync; start it again."),
    )
    return run


def resync_start(
    *,
    run_id: int | None = None,
    dry_run: bool = False,
    inline: bool = False,
    on_chunk: Callable[[int, int], None] | None = None,
) -> ResyncRun:
    """Split the catalogue into chunks and queue one task per chunk (or, `inline`, run them here and call
    `on_chunk(products_done, total)` after each: the command's progress)."""
    if run_id is None:
        run = ResyncRun.objects.create(dry_run=dry_run, source=SyncSource.SCHEDULE)
    else:
        run = ResyncRun.objects.get(pk=run_id)
    chunks = list(product_ids_in_chunks(chunk_size=CHUNK_SIZE))
    run.total = sum(len(c) for c in chunks)
    run.chunks_total = len(chunks)
    if not chunks:
        run.status = ResyncRun.Status.COMPLETED
        run.finished_at = timezone.now()
    run.save()
    done = 0
    for number, ids in enumerate(chunks, 1):
        if inline:
            resync_chunk(run_id=run.pk, product_ids=ids)
            done += len(ids)
            if on_chunk is not None:
                on_chunk(done, run.total)
        else:
            task_send_on_commit(
                resync_chunk_task,
                (run.pk, ids),
                what=f"resync run {run.pk} chunk {number}",
                on_failure=lambda number=number: resync_fail(
                    run_id=run.pk, error=f"The broker did not take chunk {number}; start the resync again."
                ),
            )
    if inline:
        run.refresh_from_db()
    return run


def _report(run_id: int, entries: list[dict]) -> None:
    if not entries:
        return
    with transaction.atomic():
        run = ResyncRun.objects.select_for_update().get(pk=run_id)
        room = REPORT_CAP - len(run.report)
        if room > 0:
            run.report = run.report + entries[:room]
            run.save(update_fields=["report"])


def _resync_product(run: ResyncRun, product: Product) -> tuple[str, dict | None]:
    """Check one product: ("unchanged" | "changed" | "failed", report entry or None)."""
    if run.dry_run:
        differences = _dry_run_product(product)
        if differences:
            return "changed", {"reference": product.reference, "changes": differences}
        return "unchanged", None
    job = job_create(
        reference=product.reference,
        product=product,
        operation=SyncOperation.UPDATE,
        # `resync --all` records its jobs as the command's; the admin's and beat's as `schedule`.
        source=SyncSource.COMMAND if run.source == SyncSource.COMMAND else SyncSource.SCHEDULE,
        force=run.force,
        payload={"resync": run.pk},
    )
    job = job_run(job_id=job.pk, trigger=SyncAttempt.Trigger.WORKER)
    if job.status == SyncStatus.FAILED:
        return "failed", {"reference": product.reference, "syncId": job.sync_id, "error": job.error}
    if job.outcome == SyncOutcome.UNCHANGED:
        job.delete()
        return "unchanged", None
    return "changed", {"reference": product.reference, "syncId": job.sync_id, "outcome": job.outcome}


def resync_chunk(*, run_id: int, product_ids: list[int]) -> int:
    run = ResyncRun.objects.get(pk=run_id)
    counts = {"unchanged": 0, "changed": 0, "failed": 0}
    entries: list[dict] = []
    checked = 0
    current = None
    try:
        for product in (
            Product.objects.filter(pk__in=product_ids, is_deleted=False).select_related("brand").order_by("pk")
        ):
            current = product
            try:
                kind, entry = _resync_product(run, product)
            except SoftTimeLimitExceeded:
                raise
            except Exception as exc:
                logger.exception("Resync of %s failed", product.reference)
                kind, entry = "failed", {"reference": product.reference, "error": f"{type(exc).__name__}: {exc}"}
            counts[kind] += 1
            if entry is not None:
                entries.append(entry)
            checked += 1
    except SoftTimeLimitExceeded:
        _chunk_progress(run_id, checked=checked, counts=counts, entries=entries)
        where = f"at {current.reference} (pk {current.pk})" if current is not None else "before its first product"
        resync_fail(
            run_id=run_id,
            error=f"A chunk ran out of time {where} after checking {checked} of {len(product_ids)} products.",
        )
        logger.error("Resync run %s: a chunk ran out of time %s", run_id, where)
        raise
    _chunk_progress(run_id, checked=checked, counts=counts, entries=entries)
    ResyncRun.objects.filter(pk=run_id, chunks_done__gte=F("chunks_total"), status=ResyncRun.Status.RUNNING).update(
        status=ResyncRun.Status.COMPLETED, finished_at=timezone.now()
    )
    return checked


def _chunk_progress(run_id: int, *, checked: int, counts: dict[str, int], entries: list[dict]) -> None:
    _report(run_id, entries)
    ResyncRun.objects.filter(pk=run_id).update(
        checked=F("checked") + checked,
        changed=F("changed") + counts["changed"],
        failed=F("failed") + counts["failed"],
        chunks_done=F("chunks_done") + 1,
    )


def _dry_run_product(product: Product) -> list[str]:
    """What a resync would change for this product, read from the shop without writing anything."""
    brand = product.brand
    notes: list[str] = []
    manufacturer_id = brand.presta_manufacturer_id if brand else None
    if brand is not None and not manufacturer_id:
        notes.append(f"manufacturer {brand.name!r} would be looked up or created")
    features = product_features(product)
    ids = shop_ids_load(features=bool(features))
    for feature in features:
        if ids.pair(feature) is None:
            notes.append(f"feature value {feature.name}: {feature.value} would be looked up or created")
    state = ShopState.from_json(product.shop_state)
    spec = product_spec(product, manufacturer_id=manufacturer_id, feature_values=ids.pairs(features), state=state)
    return notes + get_shop().diff_product(spec, state)
