"""Full resync: walk every product in pk-ordered chunks and make the shop match it.

Each chunk is its own task on the `bulk` queue, so a long resync never holds a worker for hours and
never starves webhook jobs on the `sync` queue. A product whose shop copy already matches leaves no
job row behind (it is counted as checked); one that changed, drifted (edited or deleted by hand in the
shop) or failed keeps its job, with source `schedule`, like any other. A dry run reports what would
change and writes nothing to the shop.

Drift is verified in bulk: a chunk reads the shop's copies of its 1,000 products in two listing calls
(`ShopSync.read_copies`: products with the compared fields and associations, and their stock rows), compares
them locally (`diff.differences`, the same comparison as the verifying push and the dry run), and only then
pushes, concurrently, the products that differ or changed: an unchanged catalogue costs 2 calls per 1,000
products and no write.

A chunk that runs past its soft time limit stops at once, records how far it got, and ends the run
`failed` (so a new resync can start at once); a run whose task the broker refused fails the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import Product
from catalog.selectors import product_ids_in_chunks
from connectors.http import RemoteError
from connectors.prestashop.diff import ShopCopy
from connectors.prestashop.resolve import ShopIds
from connectors.prestashop.state import ShopState
from syncjobs.models import ResyncRun, SyncAttempt, SyncOperation, SyncOutcome, SyncSource, SyncStatus
from syncjobs.tasks import full_resync_task, resync_chunk_task

from .adapters import product_features, product_spec
from .batch import jobs_run_concurrently
from .enqueue import task_send_on_commit
from .jobs import job_create
from .shop import get_shop
from .shop_ids import Dependencies, dependencies_resolve, shop_ids_load

logger = logging.getLogger(__name__)
# One chunk = one bulk read of the shop: 2 listing calls per 1,000 products (products + stock rows).
CHUNK_SIZE = 1000
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


def _report(run_id: int, entries: list[dict[Any, Any]]) -> None:
    if not entries:
        return
    with transaction.atomic():
        run = ResyncRun.objects.select_for_update().get(pk=run_id)
        room = REPORT_CAP - len(run.report)
        if room > 0:
            run.report = run.report + entries[:room]
            run.save(update_fields=["report"])


@dataclass
class _Chunk:
    """What a chunk reads once for all its products: their stored states, the shop's copies (two listing
    calls per 1,000 products), their features and the shop ids they need."""

    states: dict[int, ShopState | None]
    copies: dict[int, ShopCopy] | None  # by presta_id; None when the shop could not be read in bulk
    ids: ShopIds
    dependencies: Dependencies | None
    languages: list[int] | None


def _chunk_read(run: ResyncRun, products: list[Product]) -> _Chunk:
    shop = get_shop()
    states = {p.pk: ShopState.from_json(p.shop_state) for p in products}
    features = {p.pk: product_features(p) for p in products}
    presta_ids = [s.presta_id for s in states.values() if s is not None]
    copies: dict[int, ShopCopy] | None = None
    languages = None
    try:
        languages = shop.facts.languages()
        copies = shop.read_copies(presta_ids) if presta_ids else {}
    except RemoteError as exc:
        logger.warning("Resync run %s: the shop could not be read in bulk, checking one by one: %s", run.pk, exc)
    dependencies = None
    if run.dry_run:  # a dry run never creates anything in the shop
        ids = shop_ids_load(brands=[p.brand for p in products if p.brand_id], features=any(features.values()))
    else:
        try:
            dependencies = dependencies_resolve(products=products, features=features)
            ids = dependencies.ids
        except RemoteError as exc:
            logger.warning("Resync run %s: resolving manufacturers/features failed: %s", run.pk, exc)
            ids = shop_ids_load(brands=[p.brand for p in products if p.brand_id], features=any(features.values()))
    return _Chunk(states=states, copies=copies, ids=ids, dependencies=dependencies, languages=languages)


def _unchanged(run: ResyncRun, product: Product, chunk: _Chunk) -> bool:
    """True when the shop's copy (read in bulk) matches the product and nothing changed since the last push:
    no job, no call."""
    state = chunk.states[product.pk]
    if run.force or state is None or chunk.copies is None or chunk.dependencies is None:
        return False
    deps = chunk.dependencies
    spec = product_spec(
        product, manufacturer_id=deps.manufacturer_id(product), feature_values=deps.feature_values(product), state=state
    )
    return not get_shop().needs_push(spec, state, chunk.copies.get(state.presta_id), languages=chunk.languages)


def _dry_run_entry(product: Product, chunk: _Chunk) -> dict[Any, Any] | None:
    differences = _dry_run_product(product, chunk)
    return {"reference": product.reference, "changes": differences} if differences else None


def _push_changed(run: ResyncRun, products: list[Product], chunk: _Chunk) -> list[tuple[str, dict[Any, Any] | None]]:
    """One job per product that changed or drifted, run concurrently (the batch runner), verified against
    the copies already read."""
    jobs = {
        product.pk: job_create(
            reference=product.reference,
            product=product,
            operation=SyncOperation.UPDATE,
            # `resync --all` records its jobs as the command's; the admin's and beat's as `schedule`.
            source=SyncSource.COMMAND if run.source == SyncSource.COMMAND else SyncSource.SCHEDULE,
            force=run.force,
            payload={"resync": run.pk},
        )
        for product in products
    }
    copies = None
    if chunk.copies is not None:
        copies = {}
        for product in products:
            state = chunk.states[product.pk]
            if state is not None:
                copies[jobs[product.pk].pk] = chunk.copies.get(state.presta_id)
    done = jobs_run_concurrently(
        jobs=[(job.pk, job.reference) for job in jobs.values()],
        trigger=SyncAttempt.Trigger.WORKER,
        dependencies=chunk.dependencies,
        shop_copies=copies,
    )
    out = []
    for product in products:
        job = done[jobs[product.pk].pk]
        if job.status == SyncStatus.FAILED:
            out.append(("failed", {"reference": product.reference, "syncId": job.sync_id, "error": job.error}))
        elif job.outcome == SyncOutcome.UNCHANGED:
            job.delete()
            out.append(("unchanged", None))
        else:
            out.append(("changed", {"reference": product.reference, "syncId": job.sync_id, "outcome": job.outcome}))
    return out


def resync_chunk(*, run_id: int, product_ids: list[int]) -> int:
    """Check (and correct) one chunk: the shop is read in bulk first, then only products that differ or
    changed since their last push get a job."""
    run = ResyncRun.objects.get(pk=run_id)
    counts = {"unchanged": 0, "changed": 0, "failed": 0}
    entries: list[dict[Any, Any]] = []
    checked = 0
    current = None
    try:
        products = list(
            Product.objects.filter(pk__in=product_ids, is_deleted=False)
            .select_related("brand")
            .prefetch_related("images", "technical_data")
            .order_by("pk")
        )
        chunk = _chunk_read(run, products)
        to_push: list[Product] = []
        for product in products:
            current = product
            try:
                if run.dry_run:
                    entry = _dry_run_entry(product, chunk)
                    counts["changed" if entry else "unchanged"] += 1
                    if entry:
                        entries.append(entry)
                    checked += 1
                elif _unchanged(run, product, chunk):
                    counts["unchanged"] += 1
                    checked += 1
                else:
                    to_push.append(product)
            except SoftTimeLimitExceeded:
                raise
            except Exception as exc:
                logger.exception("Resync of %s failed", product.reference)
                counts["failed"] += 1
                checked += 1
                entries.append({"reference": product.reference, "error": f"{type(exc).__name__}: {exc}"})
        current = to_push[0] if to_push else None
        if to_push:
            for kind, entry in _push_changed(run, to_push, chunk):
                counts[kind] += 1
                checked += 1
                if entry is not None:
                    entries.append(entry)
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


def _chunk_progress(run_id: int, *, checked: int, counts: dict[str, int], entries: list[dict[Any, Any]]) -> None:
    _report(run_id, entries)
    ResyncRun.objects.filter(pk=run_id).update(
        checked=F("checked") + checked,
        changed=F("changed") + counts["changed"],
        failed=F("failed") + counts["failed"],
        chunks_done=F("chunks_done") + 1,
    )


def _dry_run_product(product: Product, chunk: _Chunk) -> list[str]:
    """What a resync would change for this product, read from the shop (in bulk) without writing anything."""
    brand = product.brand
    notes: list[str] = []
    manufacturer_id = brand.presta_manufacturer_id if brand else None
    if brand is not None and not manufacturer_id:
        notes.append(f"manufacturer {brand.name!r} would be looked up or created")
    features = product_features(product)
    for feature in features:
        if chunk.ids.pair(feature) is None:
            notes.append(f"feature value {feature.name}: {feature.value} would be looked up or created")
    state = chunk.states[product.pk]
    spec = product_spec(product, manufacturer_id=manufacturer_id, feature_values=chunk.ids.pairs(features), state=state)
    if state is not None and chunk.copies is not None:
        return notes + get_shop().diff_product(spec, state, shop_copy=chunk.copies.get(state.presta_id), copy_read=True)
    return notes + get_shop().diff_product(spec, state)
