"""Full resync: walk every product in pk-ordered chunks and make the shop match it.

Each chunk is its own task on the `bulk` queue, so a long resync never holds a worker for hours and
never starves webhook jobs on the `sync` queue. A product whose shop copy already matches leaves no
job row behind (it is counted as checked); one that changed, drifted (edited or deleted by hand in the
shop) or failed keeps its job, with source `schedule`, like any other. A dry run reports what would
change and writes nothing to the shop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import Product
from catalog.selectors import product_ids_in_chunks
from syncjobs.models import ResyncRun, SyncAttempt, SyncJob, SyncOperation, SyncSource, SyncStatus

from .runner import job_run, product_spec
from .shop import get_shop

logger = logging.getLogger(__name__)
CHUNK_SIZE = 200
REPORT_CAP = 500


def resync_request(
    *, dry_run: bool = False, user=None, source: str = SyncSource.ADMIN, force: bool = False
) -> ResyncRun:
    """Record a run and enqueue it (after commit)."""
    from syncjobs.tasks import full_resync_task

    run = ResyncRun.objects.create(dry_run=dry_run, source=source, requested_by=user, force=force)
    transaction.on_commit(lambda: full_resync_task.apply_async(kwargs={"run_id": run.pk, "dry_run": dry_run}))
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
    from syncjobs.tasks import resync_chunk_task

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
    for ids in chunks:
        if inline:
            resync_chunk(run_id=run.pk, product_ids=ids)
            done += len(ids)
            if on_chunk is not None:
                on_chunk(done, run.total)
        else:
            transaction.on_commit(lambda ids=ids: resync_chunk_task.apply_async((run.pk, ids)))
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


def resync_chunk(*, run_id: int, product_ids: list[int]) -> int:
    run = ResyncRun.objects.get(pk=run_id)
    checked = changed = failed = 0
    entries: list[dict] = []
    for product in Product.objects.filter(pk__in=product_ids, is_deleted=False).select_related("brand").order_by("pk"):
        try:
            if run.dry_run:
                differences = _dry_run_product(product)
                if differences:
                    changed += 1
                    entries.append({"reference": product.reference, "changes": differences})
            else:
                job = SyncJob.objects.create(
                    reference=product.reference,
                    product=product,
                    operation=SyncOperation.UPDATE,
                    # `resync --all` records its jobs as the command's; the admin's and beat's as `schedule`.
                    source=SyncSource.COMMAND if run.source == SyncSource.COMMAND else SyncSource.SCHEDULE,
                    force=run.force,
                    product_version=product.version,
                    payload={"resync": run.pk},
                )
                job = job_run(job_id=job.pk, trigger=SyncAttempt.Trigger.WORKER)
                if job.status == SyncStatus.FAILED:
                    failed += 1
                    entries.append({"reference": product.reference, "syncId": job.sync_id, "error": job.error})
                elif job.outcome == "unchanged":
                    job.delete()
                else:
                    changed += 1
                    entries.append({"reference": product.reference, "syncId": job.sync_id, "outcome": job.outcome})
        except Exception as exc:
            logger.exception("Resync of %s failed", product.reference)
            failed += 1
            entries.append({"reference": product.reference, "error": f"{type(exc).__name__}: {exc}"})
        checked += 1
    _report(run_id, entries)
    ResyncRun.objects.filter(pk=run_id).update(
        checked=F("checked") + checked,
        changed=F("changed") + changed,
        failed=F("failed") + failed,
        chunks_done=F("chunks_done") + 1,
    )
    ResyncRun.objects.filter(pk=run_id, chunks_done__gte=F("chunks_total"), status=ResyncRun.Status.RUNNING).update(
        status=ResyncRun.Status.COMPLETED, finished_at=timezone.now()
    )
    return checked


def _dry_run_product(product: Product) -> list[str]:
    """What a resync would change for this product, read from the shop without writing anything."""
    from .runner import _feature_cache, product_features

    brand = product.brand
    notes: list[str] = []
    manufacturer_id = brand.presta_manufacturer_id if brand else None
    if brand is not None and not manufacturer_id:
        notes.append(f"manufacturer {brand.name!r} would be looked up or created")
    known = _feature_cache()
    pairs = []
    for feature in product_features(product):
        fid = known["features"].get(feature.name)
        vid = known["values"].get(f"{fid}|{feature.value}") if fid else None
        if vid is None:
            notes.append(f"feature value {feature.name}: {feature.value} would be looked up or created")
        else:
            pairs.append((fid, vid))
    spec = product_spec(product, manufacturer_id=manufacturer_id, feature_values=pairs)
    return notes + get_shop().diff_product(spec, dict(product.shop_state or {}) or None)
