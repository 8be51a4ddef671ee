"""Intake: store what the ERP sent and a pending sync job, in one transaction, before any remote call."""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction

from catalog.selectors import product_get_by_reference
from catalog.services.products import product_mark_deleted, product_upsert
from catalog.validation import ValidatedProduct, payload_for_storage
from config.api.errors import ConflictError, NotFoundError, detail
from syncjobs.models import SyncJob, SyncOperation

from .jobs import job_create

logger = logging.getLogger(__name__)


def job_intake_product(
    *,
    data: ValidatedProduct,
    payload: dict[Any, Any],
    source: str,
    user=None,
    force: bool = False,
    converge: bool = False,
) -> SyncJob:
    """Store the product and a pending job.

    API semantics (`converge=False`): `create` of a held reference → 409, `update` of an unknown one → 404.
    Event semantics (`converge=True`, the webhook): `create` of a held reference updates it, `update` of an
    unknown one creates it. A deleted product counts as unknown and `create` brings it back.
    """
    for attempt in range(2):
        try:
            with transaction.atomic():
                product = product_get_by_reference(reference=data.reference, for_update=True)
                held = product is not None and not product.is_deleted
                operation = data.operation
                if converge:
                    operation = SyncOperation.UPDATE if held else SyncOperation.CREATE
                elif operation == SyncOperation.CREATE and held:
                    raise ConflictError(
                        "Product already exists",
                        details=[
                            detail(
                                "reference",
                                f"A product with reference {data.reference!r} already exists; use operation 'update'.",
                            )
                        ],
                    )
                elif operation == SyncOperation.UPDATE and not held:
                    raise NotFoundError(
                        "Product not found",
                        details=[
                            detail(
                                "reference", f"No product with reference {data.reference!r}; use operation 'create'."
                            )
                        ],
                    )
                product = product_upsert(data=data, product=product)
                return job_create(
                    reference=data.reference,
                    product=product,
                    operation=operation,
                    source=source,
                    force=force,
                    payload=payload_for_storage(payload, data.images),
                    user=user,
                )
        except IntegrityError:
            # Two creates of one new reference raced: the other committed first.
            if not converge or attempt:
                raise ConflictError(
                    "Product already exists",
                    details=[detail("reference", f"A product with reference {data.reference!r} already exists.")],
                )
    raise AssertionError("unreachable")


def job_intake_delete(*, reference: str, source: str, user=None, allow_unknown: bool = False) -> SyncJob:
    """Mark the product deleted locally (the record is kept) and store a pending delete job.

    An unknown or already deleted reference is 404, unless `allow_unknown` (webhook): then the job is
    stored and completes with nothing to do.
    """
    with transaction.atomic():
        product = product_get_by_reference(reference=reference, for_update=True)
        held = product is not None and not product.is_deleted
        if not held and not allow_unknown:
            raise NotFoundError(
                "Product not found", details=[detail("reference", f"No product with reference {reference!r}.")]
            )
        if held:
            product = product_mark_deleted(product=product)
        return job_create(
            reference=reference,
            product=product,
            operation=SyncOperation.DELETE,
            source=source,
            payload={"operation": SyncOperation.DELETE, "reference": reference},
            presta_id=product.presta_id if product else None,
            user=user,
        )
