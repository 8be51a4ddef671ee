"""Running a sync job: reconcile the shop with the product as the service holds it now.

A job does not replay its own payload: it makes the shop match the newest data the service received
for that reference (or removes the product, if it is deleted). So an older job that runs late cannot
overwrite a newer update — it finds the shop already current and makes no call — and every retry,
whoever triggers it, converges on the same result.

The work is split in three steps so the batch endpoint can run many products' shop calls at once:
`job_begin` + `_prepare` (database, under the reference lock) → `_execute` (HTTP only, thread-safe)
→ `_finish` (database).
"""

from __future__ import annotations

import logging
import socket
import time
import traceback
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import Product, ProductImage, ShopFeature, ShopFeatureValue
from config import metrics
from config.logs import log_context
from connectors.http import Backoff, RemoteError
from connectors.prestashop.mapping import feature_pairs
from connectors.prestashop.types import FeatureSpec, ImageSpec, ProductSpec, PushResult
from syncjobs.locks import SHOP_DEPENDENCIES_LOCK, named_locks, reference_lock
from syncjobs.models import SyncAttempt, SyncJob, SyncSource, SyncStatus

from .shop import get_shop

logger = logging.getLogger(__name__)
WORKER_NAME = socket.gethostname()


@dataclass
class Work:
    """One job's run between its steps."""

    job: SyncJob
    attempt: SyncAttempt
    product: Product | None
    action: str = "noop"  # push | delete | noop
    spec: ProductSpec | None = None
    state: dict = field(default_factory=dict)
    force: bool = False
    verify: bool = False
    result: PushResult | None = None
    deleted_id: int | None = None
    error: BaseException | None = None
    prepare_calls: int = 0
    t0: float = 0.0


class JobNotRunnable(Exception):
    """The job is already final (and the trigger does not re-open it)."""


def job_begin(*, job_id: int, trigger: str, user=None, reopen: bool = False) -> Work:
    """Mark the job processing and open a new attempt. Call with the reference lock held."""
    with transaction.atomic():
        job = SyncJob.objects.select_for_update().get(pk=job_id)
        if job.status in (SyncStatus.COMPLETED, SyncStatus.PARTIAL) and job.next_retry_at is None and not reopen:
            raise JobNotRunnable(job.sync_id)
        if job.status == SyncStatus.FAILED and job.next_retry_at is None and not reopen:
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
            triggered_by=user if getattr(user, "is_authenticated", False) else None,
            started_at=now,
            worker=WORKER_NAME,
        )
    product = Product.objects.select_related("brand").filter(pk=job.product_id).first() if job.product_id else None
    return Work(job=job, attempt=attempt, product=product, force=job.force, t0=time.monotonic())


def _feature_cache() -> dict:
    features = dict(ShopFeature.objects.values_list("name", "presta_id"))
    values = {
        f"{fid}|{value}": vid
        for fid, value, vid in ShopFeatureValue.objects.values_list("feature__presta_id", "value", "presta_id")
    }
    return {"features": features, "values": values}


def _feature_cache_save(known: dict) -> None:
    by_presta = {}
    for name, presta_id in known.get("features", {}).items():
        feature, _ = ShopFeature.objects.get_or_create(name=name, defaults={"presta_id": presta_id})
        by_presta[presta_id] = feature
    for key, value_id in known.get("values", {}).items():
        fid, _, value = key.partition("|")
        feature = by_presta.get(int(fid))
        if feature is not None:
            ShopFeatureValue.objects.get_or_create(feature=feature, value=value, defaults={"presta_id": value_id})


def product_features(product: Product) -> list[FeatureSpec]:
    return feature_pairs(
        [
            {
                "Gruppo": t.gruppo,
                "Descrizione": t.descrizione,
                "Valore": t.valore,
                "Suffisso": t.suffisso,
                "PrintOrder": t.print_order,
            }
            for t in product.technical_data.order_by("position")
        ]
    )


def _resolve_dependencies(product: Product) -> tuple[int | None, list[tuple[int, int]], int]:
    """Manufacturer and feature value ids, found or created in the shop once and remembered locally.

    Known ids cost nothing; unknown ones are resolved under one cross-process lock, so two workers never
    create the same manufacturer or feature twice. Returns the ids and the Webservice calls made."""
    shop = get_shop()
    features = product_features(product)
    brand = product.brand
    manufacturer_id = brand.presta_manufacturer_id if brand else None
    pairs: list[tuple[int, int]] = []
    with shop.client.counting() as counter:
        known = _feature_cache() if features else {}
        if (brand is not None and not manufacturer_id) or _has_unknown(features, known):
            with named_locks([SHOP_DEPENDENCIES_LOCK]):
                if brand is not None and not manufacturer_id:
                    brand.refresh_from_db(fields=["presta_manufacturer_id"])  # another worker may have it now
                    manufacturer_id = brand.presta_manufacturer_id or shop.resolve_manufacturer(brand.name)
                    if brand.presta_manufacturer_id != manufacturer_id:
                        brand.presta_manufacturer_id = manufacturer_id
                        brand.save(update_fields=["presta_manufacturer_id", "updated_at"])
                if features:
                    known = _feature_cache()
                    pairs, updated = shop.resolve_features(features, known)
                    if updated != known:
                        _feature_cache_save(updated)
        elif features:
            pairs, _ = shop.resolve_features(features, known)  # everything known: no call
    return manufacturer_id, pairs, counter[0]


def _has_unknown(features: list[FeatureSpec], known: dict) -> bool:
    names = known.get("features", {})
    values = known.get("values", {})
    for f in features:
        fid = names.get(f.name)
        if fid is None or f"{fid}|{f.value}" not in values:
            return True
    return False


def product_spec(
    product: Product, *, manufacturer_id: int | None, feature_values: list[tuple[int, int]]
) -> ProductSpec:
    images = [
        ImageSpec(sha256=img.blob_id, file_name=img.file_name, content=bytes(img.blob.content))
        for img in ProductImage.objects.filter(product=product).select_related("blob").order_by("position")
    ]
    return ProductSpec(
        reference=product.reference,
        name=product.name,
        description=product.description,
        price=product.price,
        quantity=product.quantity,
        active=product.active,
        category_ids=list(product.categories or []),
        ean13=product.ean13,
        weight=product.weight,
        manufacturer_id=manufacturer_id,
        images=images,
        feature_values=feature_values,
    )


def _prepare(work: Work) -> None:
    product = work.product
    if product is None:
        work.action = "noop"
        return
    if product.is_deleted:
        work.action = "delete"
        return
    try:
        manufacturer_id, pairs, calls = _resolve_dependencies(product)
        work.prepare_calls = calls
        work.spec = product_spec(product, manufacturer_id=manufacturer_id, feature_values=pairs)
        work.state = dict(product.shop_state or {})
        work.action = "push"
    except Exception as exc:  # noqa: BLE001 - recorded on the job by _finish
        work.error = exc


def _execute(work: Work) -> None:
    """The shop calls. HTTP only (no database), so it can run in a worker thread."""
    if work.error is not None:
        return
    shop = get_shop()
    try:
        if work.action == "push":
            work.result = shop.push_product(work.spec, work.state or None, force=work.force, verify=work.verify)
        elif work.action == "delete":
            work.deleted_id = shop.delete_product(reference=work.product.reference, presta_id=work.product.presta_id)
    except Exception as exc:  # noqa: BLE001 - recorded on the job by _finish
        work.error = exc


def _retry_delay(job: SyncJob, exc: BaseException | None) -> float:
    backoff = Backoff(base=settings.SYNC_RETRY_BASE_SECONDS, cap=settings.SYNC_RETRY_MAX_SECONDS)
    delay = backoff.delay(job.attempts)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        delay = max(delay, float(retry_after))
    return max(delay, 1.0)


def _image_ids_from_state(state: dict) -> dict[str, int]:
    images = state.get("images") or []
    out = {}
    for item in images:
        if isinstance(item, dict) and item.get("sha256") and item.get("id"):
            out[item["sha256"]] = int(item["id"])
    return out


def _finish(work: Work) -> SyncJob:
    from syncjobs.services.enqueue import job_enqueue

    job, attempt, product = work.job, work.attempt, work.product
    now = timezone.now()
    elapsed_ms = int((time.monotonic() - work.t0) * 1000)
    changed = False
    with transaction.atomic():
        attempt.finished_at = now
        attempt.duration_ms = elapsed_ms
        if work.error is not None:
            exc = work.error
            retryable = getattr(exc, "retryable", not isinstance(exc, RemoteError))
            if isinstance(exc, RemoteError):
                message = exc.message
                attempt.remote = exc.as_dict()
                job.error_details = [exc.as_dict()]
            else:
                logger.error("Sync job %s crashed", job.sync_id, exc_info=exc)
                message = f"Internal error: {type(exc).__name__}: {exc}"
                attempt.remote = {"traceback": "".join(traceback.format_exception(exc))[-4000:]}
                job.error_details = []
            attempt.outcome = SyncAttempt.Outcome.FAILED
            attempt.error = message
            job.status = SyncStatus.FAILED
            job.error = message
            if retryable and job.attempts < settings.SYNC_MAX_ATTEMPTS:
                delay = _retry_delay(job, exc)
                job.next_retry_at = now + timezone.timedelta(seconds=delay)
                job_enqueue(job, countdown=delay)
            else:
                job.next_retry_at = None
                job.completed_at = now
            if product is not None:
                updates = {"last_sync_status": SyncStatus.FAILED}
                partial_state = getattr(exc, "push_state", None)
                if partial_state and partial_state.get("presta_id"):
                    # How far the push got (e.g. created, then failed on stock): the next try resumes there.
                    updates.update(shop_state=partial_state, presta_id=partial_state["presta_id"])
                Product.objects.filter(pk=product.pk).update(**updates)
        else:
            job.error = ""
            job.error_details = []
            job.warnings = []
            job.next_retry_at = None
            job.completed_at = now
            job.status = SyncStatus.COMPLETED
            attempt.outcome = SyncAttempt.Outcome.SUCCEEDED
            if work.action == "noop":
                job.outcome = "absent"
            elif work.action == "delete":
                job.outcome = "deleted" if work.deleted_id else "absent"
                job.presta_id = work.deleted_id or job.presta_id
                Product.objects.filter(pk=product.pk, is_deleted=True).update(
                    presta_id=None, shop_state={}, last_synced_at=now, last_sync_status=SyncStatus.COMPLETED
                )
                ProductImage.objects.filter(product=product).update(presta_image_id=None)
                changed = True
            else:
                result = work.result
                job.presta_id = result.presta_id
                job.images_processed = result.images_processed
                job.technical_data_processed = result.features_processed
                job.warnings = list(result.warnings)
                job.outcome = (
                    "adopted"
                    if result.adopted
                    else (
                        ("created" if not work.state.get("presta_id") else "updated") if result.changed else "unchanged"
                    )
                )
                changed = result.changed
                if result.image_errors:
                    job.status = SyncStatus.PARTIAL
                    attempt.outcome = SyncAttempt.Outcome.PARTIAL
                    job.error = "; ".join(
                        f"Image {e.index + 1} ({e.file_name}) was refused by the shop: {e.message}"
                        for e in result.image_errors
                    )
                    job.error_details = [
                        {"field": f"images[{e.index}]", "message": e.message} for e in result.image_errors
                    ]
                    transient = [e for e in result.image_errors if e.retryable]
                    if transient and job.attempts < settings.SYNC_MAX_ATTEMPTS:
                        # The shop failed (not refused) an upload: the product is saved; try the images again.
                        delay = _retry_delay(job, None)
                        job.next_retry_at = now + timezone.timedelta(seconds=delay)
                        job_enqueue(job, countdown=delay)
                attempt.error = job.error
                Product.objects.filter(pk=product.pk).update(
                    presta_id=result.presta_id,
                    shop_state=result.state,
                    last_synced_at=now,
                    last_sync_status=job.status,
                )
                for sha, image_id in _image_ids_from_state(result.state).items():
                    ProductImage.objects.filter(product=product, blob_id=sha).update(presta_image_id=image_id)
        attempt.calls = work.prepare_calls + (work.result.calls if work.result is not None else 0)
        job.duration_ms = int((job.completed_at - job.started_at).total_seconds() * 1000) if job.completed_at else None
        job.save()
        attempt.save()
        if job.is_final:
            seconds = job.duration_ms / 1000 if job.duration_ms is not None else None
            status, source = job.status, job.source
            transaction.on_commit(lambda: metrics.job_finished(status=status, source=source, seconds=seconds))
        # Productsup gets what the ERP sent even when the shop copy did not change (e.g. a new `Gruppo`);
        # a scheduled resync only tells it about products it had to correct.
        if product is not None and work.error is None and work.action != "noop" and (changed or not _is_resync(job)):
            _notify_productsup(product.pk)
    return job


def _is_resync(job: SyncJob) -> bool:
    """A full resync's job (scheduled, or `resync --all`): it reads the shop copy to catch manual edits."""
    return job.source == SyncSource.SCHEDULE or (
        job.source == SyncSource.COMMAND and isinstance(job.payload, dict) and "resync" in job.payload
    )


def _notify_productsup(product_id: int) -> None:
    try:
        from exports.services import productsup_product_changed
    except ImportError:  # the Productsup exporter is optional
        return
    productsup_product_changed(product_ids=[product_id])


def job_run(*, job_id: int, trigger: str = SyncAttempt.Trigger.WORKER, user=None, reopen: bool = False) -> SyncJob:
    """Run one job now, holding its reference's lock (so no two runs of one reference overlap anywhere)."""
    reference, sync_id = SyncJob.objects.values_list("reference", "sync_id").get(pk=job_id)
    with log_context(sync_id=sync_id, reference=reference), reference_lock(reference):
        try:
            work = job_begin(job_id=job_id, trigger=trigger, user=user, reopen=reopen)
        except JobNotRunnable:
            return SyncJob.objects.get(pk=job_id)
        work.verify = _is_resync(work.job)
        _prepare(work)
        _execute(work)
        return _finish(work)
