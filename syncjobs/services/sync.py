"""The sync API's operations: validate → store + job → run now (or report the failure as 502)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ValidationError

from catalog.validation import product_validate
from config.api.errors import ApplicationError, NotFoundError, UpstreamError, detail
from config.api.exception_handlers import flatten_errors
from syncjobs.models import SyncAttempt, SyncJob, SyncSource, SyncStatus
from webhooks.selectors import delivery_pending_job

from .batch import batch_dependencies, jobs_run_concurrently
from .intake import job_intake_delete, job_intake_product
from .runner import DeadlinePassed, job_run, job_run_within
from .shop import shop_unknown_categories


def job_summary(job: SyncJob) -> dict[Any, Any]:
    return {
        "productId": job.product_id,
        "reference": job.reference,
        "presta_id": job.presta_id,
        "syncId": job.sync_id,
        "operation": job.operation,
        "status": job.status,
        "imagesProcessed": job.images_processed,
        "technicalDataProcessed": job.technical_data_processed,
        "warnings": list(job.warnings or []),
    }


def _raise_if_failed(job: SyncJob) -> None:
    if job.status == SyncStatus.FAILED:
        raise UpstreamError(
            "PrestaShop API communication error",
            details=[detail("", job.error)] if job.error else [],
            data={
                "syncId": job.sync_id,
                "status": job.status,
                "reference": job.reference,
                "productId": job.product_id,
                "retrying": job.next_retry_at is not None,
            },
        )


def product_sync(*, payload: object, user=None, force: bool = False) -> SyncJob:
    """Store and run the product now; answered within SYNC_REQUEST_DEADLINE_SECONDS of the call, all tries
    included (past it: 502 with the syncId, and the run carries on in the background)."""
    deadline = time.monotonic() + settings.SYNC_REQUEST_DEADLINE_SECONDS
    data = product_validate(payload, check_categories=shop_unknown_categories)
    job = job_intake_product(data=data, payload=payload, source=SyncSource.API, user=user, force=force)
    try:
        job = job_run_within(job_id=job.pk, deadline=deadline, trigger=SyncAttempt.Trigger.REQUEST, user=user)
    except DeadlinePassed as late:
        raise UpstreamError(
            "PrestaShop did not answer in time; the sync carries on in the background",
            details=[detail("", f"No answer within {settings.SYNC_REQUEST_DEADLINE_SECONDS} s.")],
            data={
                "syncId": late.job.sync_id,
                "status": late.job.status,
                "reference": late.job.reference,
                "productId": late.job.product_id,
                "retrying": True,
            },
        ) from None
    _raise_if_failed(job)
    return job


def product_delete(*, reference: str, user=None) -> SyncJob:
    job = job_intake_delete(reference=reference, source=SyncSource.API, user=user)
    job = job_run(job_id=job.pk, trigger=SyncAttempt.Trigger.REQUEST, user=user)
    _raise_if_failed(job)
    return job


def products_sync_batch(*, products: object, user=None, force: bool = False) -> dict[Any, Any]:
    if not isinstance(products, list):
        raise ValidationError({"products": ["Must be a list of product objects."]})
    if len(products) > settings.SYNC_BATCH_MAX:
        raise ValidationError({"products": [f"At most {settings.SYNC_BATCH_MAX} products per batch."]})
    if not products:
        raise ValidationError({"products": ["Must contain at least one product."]})

    results: list[dict[Any, Any]] = [{} for _ in products]
    queued: list[tuple[int, int]] = []

    def stored_jobs():
        """Validate and store each product."""
        for index, raw in enumerate(products):
            reference = raw.get("reference") if isinstance(raw, dict) else None
            try:
                data = product_validate(raw, check_categories=shop_unknown_categories)
                job = job_intake_product(data=data, payload=raw, source=SyncSource.BATCH, user=user, force=force)
            except ValidationError as exc:
                results[index] = {
                    "reference": reference,
                    "success": False,
                    "error": "Validation failed",
                    "details": flatten_errors(exc.detail),
                }
                continue
            except ApplicationError as exc:
                results[index] = {
                    "reference": reference,
                    "success": False,
                    "error": exc.error,
                    "details": exc.details,
                    "status": exc.status_code,
                }
                continue
            queued.append((index, job.pk))
            yield job.pk, job.reference

    stored = list(stored_jobs())  # every product stored first: the batch's brands and features resolve once
    dependencies = batch_dependencies(job_ids=[job_id for job_id, _ in stored]) if stored else None
    ran = jobs_run_concurrently(jobs=stored, user=user, dependencies=dependencies)
    for index, job_id in queued:
        job = ran[job_id]
        item = {"reference": job.reference, "success": job.status != SyncStatus.FAILED, **job_summary(job)}
        if job.status == SyncStatus.FAILED:
            item["error"] = job.error or "PrestaShop API communication error"
            item["details"] = [detail("", job.error)] if job.error else []
        results[index] = item
    successful = sum(1 for r in results if r.get("success"))
    return {"total": len(products), "successful": successful, "failed": len(products) - successful, "results": results}


def job_get_by_sync_id(*, sync_id: str) -> SyncJob:
    # A webhook delivery the worker has not applied yet has no job row: it answers `pending`.
    job = (
        SyncJob.objects.filter(sync_id=sync_id).first()
        or delivery_pending_job(sync_id=sync_id)
        or SyncJob.objects.filter(sync_id=sync_id).first()  # the worker applied it between the two reads
    )
    if job is None:
        raise NotFoundError("Sync record not found", details=[detail("syncId", f"No sync record {sync_id!r}.")])
    return job
