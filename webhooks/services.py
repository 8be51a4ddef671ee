"""The GeSmart webhook (docs/api.md, Webhook): verify → validate → one row → one message; the worker does the rest.

The request path: the signature is checked over the raw bytes before anything is parsed; the product is
validated (400/422 as the API answers them; the category check reads a cache and never calls the shop);
then ONE durable write — the `WebhookDelivery` row, carrying the validated product and the `syncId` the
answer names (image bytes, when there are any, go to their `ImageBlob` rows in the same transaction) —
and ONE message to the broker once that row has committed. Every delivery, refused or not, leaves a row.

The worker (`delivery_process`) applies accepted deliveries to the catalogue (product upsert, brand,
images, technical data), creates the sync job with the delivery's `syncId` and enqueues it. Deliveries of
one reference are applied under a per-reference transaction lock, and a delivery that arrives at the
worker after a newer one of the same reference was applied (or after a newer API call stored the
product) does not overwrite it: its job only reconciles the shop with what the service holds. So the
last update the service received wins whatever order the messages are consumed in. A delivery whose
message was lost (a broker restarted without persistence, a worker killed while holding it) is published
again by the recovery sweeper (syncjobs/services/recovery.py), by the same rules as a job's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.exceptions import ParseError, ValidationError

from catalog.selectors import product_get_by_reference
from catalog.services.products import image_blobs_store
from catalog.validation import (
    DecodedImage,
    DeleteInput,
    ValidatedProduct,
    json_number,
    payload_for_storage,
    product_validate,
)
from config.api.errors import ApplicationError, detail
from config.api.exception_handlers import flatten_errors
from config.api.parsers import StrictJSONParser
from config.logs import HEADER
from syncjobs.models import SyncJob, SyncOperation, SyncSource, new_sync_id
from syncjobs.services.enqueue import job_enqueue, task_send
from syncjobs.services.intake import job_intake_delete, job_intake_product
from syncjobs.services.jobs import job_create

from .categories import categories_check
from .models import WebhookDelivery

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-gesmart-signature"
JSON_TYPES = {"application/json"}
# A refused or invalid payload is kept for audit up to this size (JSON text); larger ones keep hash and size only.
MAX_STORED_PAYLOAD_CHARS = 64 * 1024


class WebhookSignatureError(ApplicationError):
    status_code = 401
    default_error = "Invalid webhook signature"


class WebhookMediaTypeError(ApplicationError):
    status_code = 415
    default_error = "Unsupported media type: send application/json"


@dataclass(frozen=True)
class DeliveryMeta:
    """What the view knows about the request besides its body."""

    source_ip: str | None = None
    forwarded_for: str = ""
    request_id: str = ""
    user_agent: str = ""
    content_type: str = ""


@dataclass(frozen=True)
class DeliveryResult:
    delivery: WebhookDelivery
    sync_id: str
    reference: str


def webhook_secrets() -> list[bytes]:
    """`GESMART_WEBHOOK_SECRET`: one secret, or several comma-separated while rotating; blanks ignored."""
    raw = settings.GESMART_WEBHOOK_SECRET or ""
    return [part.strip().encode() for part in raw.split(",") if part.strip()]


def signature_compute(*, body: bytes, secret: bytes) -> str:
    """base64(HMAC-SHA256(raw body, secret)), as the ERP computes it (docs/api.md, Webhook)."""
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode("ascii")


def signature_verify(*, body: bytes, signature: str | None) -> bool:
    """Constant-time comparison against every configured secret. No secret configured: always False."""
    keys = webhook_secrets()
    if not keys or not signature:
        return False
    try:
        provided = signature.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    # Compare against every key (no short-circuit), so timing does not tell which key matched.
    matches = [hmac.compare_digest(signature_compute(body=body, secret=key).encode("ascii"), provided) for key in keys]
    return any(matches)


def _audit_default(value: object) -> object:
    """The ERP's numbers stay numbers in a refused delivery's payload (they are parsed as Decimal)."""
    return json_number(value) if isinstance(value, Decimal) else str(value)


def _audit_payload(payload: object) -> object:
    """A refused payload as it can be kept: image base64 replaced by its length, size capped."""
    if isinstance(payload, dict) and isinstance(payload.get("images"), list):
        payload = dict(payload)
        payload["images"] = [
            {
                "fileName": item.get("fileName"),
                "base64Chars": len(item["base64"]) if isinstance(item.get("base64"), str) else None,
            }
            if isinstance(item, dict)
            else {"invalid": type(item).__name__}
            for item in payload["images"]
        ]
    try:
        text = json.dumps(payload, default=_audit_default)
    except (TypeError, ValueError):
        return {"unstorable": True}
    if len(text) > MAX_STORED_PAYLOAD_CHARS:
        return {"truncated": True, "chars": len(text)}
    return json.loads(text)


def _short(value: object, length: int) -> str:
    return value[:length] if isinstance(value, str) else ""


def _record(
    *,
    meta: DeliveryMeta,
    body: bytes,
    signature_valid: bool,
    status_code: int,
    payload: object = None,
    error: str = "",
    details: list[dict[Any, Any]] | None = None,
    sync_id: str = "",
    product: dict[Any, Any] | None = None,
) -> WebhookDelivery:
    reference = operation = ""
    if isinstance(payload, dict):
        reference = _short(payload.get("reference"), 64)
        operation = _short(payload.get("operation"), 16)
    delivery = WebhookDelivery(
        source_ip=meta.source_ip or None,
        forwarded_for=meta.forwarded_for[:255],
        request_id=meta.request_id[:64],
        user_agent=meta.user_agent[:255],
        content_type=meta.content_type[:255],
        signature_valid=signature_valid,
        body_sha256=hashlib.sha256(body).hexdigest(),
        body_size=len(body),
        reference=reference,
        operation=operation,
        payload=payload,
        status_code=status_code,
        error=error,
        error_details=details or [],
        sync_id=sync_id,
        product=product,
        # Published once this row commits (`delivery_send` clears it if the broker refuses the message).
        dispatched_at=timezone.now() if product is not None else None,
    )
    _insert(delivery)
    return delivery


_insert_sql: dict[str, tuple[str, list[Any]]] = {}


def _insert(delivery: WebhookDelivery) -> None:
    """INSERT one delivery row with a statement built once per database vendor: on the request path Django's
    SQL compiler costs more than the insert itself (0.9 against 0.35 ms). Same columns, same value
    conversions (`get_db_prep_save`) as `Model.save()`; the row has no auto_now fields or signals to honour."""
    cached = _insert_sql.get(connection.vendor)
    if cached is None:
        opts, qn = WebhookDelivery._meta, connection.ops.quote_name
        columns_of = [f for f in opts.concrete_fields if not f.primary_key]
        # Identifiers come from the model's meta, quoted; every value is a parameter.
        columns, marks = ", ".join(qn(str(f.column)) for f in columns_of), ", ".join(["%s"] * len(columns_of))
        statement = f"INSERT INTO {qn(opts.db_table)} ({columns}) VALUES ({marks}) RETURNING {qn(str(opts.pk.column))}"  # noqa: S608
        cached = _insert_sql[connection.vendor] = (statement, columns_of)
    sql, fields = cached
    params = [f.get_db_prep_save(getattr(delivery, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        delivery.pk = cursor.fetchone()[0]
    delivery._state.adding = False
    delivery._state.db = connection.alias


def _unknown_categories(ids: list[int]) -> list[int]:
    """The ids the shop is known not to have (422). Ids that cannot be checked now are accepted; the job
    reports them (`categories.category_warnings`). Never calls the shop."""
    return categories_check(ids).unknown


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in JSON_TYPES or (media_type.startswith("application/") and media_type.endswith("+json"))


def _parse(body: bytes, encoding: str) -> object:
    return StrictJSONParser().parse(io.BytesIO(body), parser_context={"encoding": encoding})


def delivery_receive(
    *, body: bytes, signature: str | None, content_type: str, meta: DeliveryMeta, encoding: str = "utf-8"
) -> DeliveryResult:
    """Handle one delivery. Returns the stored delivery and the `syncId` its job will have, or raises an
    `ApplicationError` / DRF exception that the API renders in the envelope (after the refused delivery has
    been recorded)."""
    if not signature_verify(body=body, signature=signature):
        reason = (
            "no webhook secret configured"
            if not webhook_secrets()
            else ("missing signature" if not signature else "signature mismatch")
        )
        log = logger.error if reason == "no webhook secret configured" else logger.warning
        log(
            "Webhook refused (%s) from %s: %d bytes, sha256 %s",
            reason,
            meta.source_ip,
            len(body),
            hashlib.sha256(body).hexdigest(),
        )
        refused = WebhookSignatureError(
            details=[detail(SIGNATURE_HEADER, "The signature header is missing or does not match the body.")]
        )
        _record(
            meta=meta, body=body, signature_valid=False, status_code=401, error=refused.error, details=refused.details
        )
        raise refused

    payload: object = None
    try:
        if not _is_json(content_type):
            raise WebhookMediaTypeError(details=[detail("Content-Type", f"Got {content_type or 'none'!r}.")])
        payload = _parse(body, encoding)
        if isinstance(payload, dict) and payload.get("operation") == "delete":
            data = DeleteInput(data=payload)
            data.is_valid(raise_exception=True)
            reference = data.validated_data["reference"]
            stored, product, images = _audit_payload(payload), {"operation": "delete", "reference": reference}, []
        else:
            validated = product_validate(payload, check_categories=_unknown_categories)
            assert isinstance(payload, dict)  # product_validate refuses anything else
            reference = validated.reference
            stored, product, images = (
                payload_for_storage(payload, validated.images),
                product_to_json(validated),
                validated.images or [],
            )
        sync_id = new_sync_id()
        # One durable write: the delivery row (in autocommit, its INSERT is the commit). Image bytes, when
        # there are any, are stored with it in one transaction.
        with transaction.atomic(savepoint=False) if images else nullcontext():
            if images:
                image_blobs_store(images=images)
            delivery = _record(
                meta=meta,
                body=body,
                signature_valid=True,
                status_code=200,
                payload=stored,
                sync_id=sync_id,
                product=product,
            )
            delivery_id = delivery.pk
            # Published once the row is committed (at once in autocommit).
            transaction.on_commit(lambda: delivery_send(delivery_id, sync_id=sync_id, reference=reference), robust=True)
    except ApplicationError as exc:
        _record(
            meta=meta,
            body=body,
            signature_valid=True,
            status_code=exc.status_code,
            payload=_audit_payload(payload),
            error=exc.error,
            details=exc.details,
        )
        raise
    except (ParseError, ValidationError) as exc:
        if isinstance(exc, ParseError):
            error, details = "Malformed JSON body", [{"field": "", "message": str(exc.detail)}]
        else:
            error, details = "Validation failed", flatten_errors(exc.detail)
        _record(
            meta=meta,
            body=body,
            signature_valid=True,
            status_code=400,
            payload=_audit_payload(payload),
            error=error,
            details=details,
        )
        raise
    except Exception as exc:
        _record(
            meta=meta,
            body=body,
            signature_valid=True,
            status_code=500,
            payload=_audit_payload(payload),
            error=f"Internal error: {type(exc).__name__}",
        )
        raise
    logger.info("Webhook accepted: %s %s → %s", delivery.operation, reference, sync_id)
    return DeliveryResult(delivery=delivery, sync_id=sync_id, reference=reference)


def delivery_send(delivery_id: int, *, sync_id: str = "", reference: str = "") -> bool:
    """Publish the delivery's task. A broker failure is logged, never raised: the row is committed and the
    recovery sweeper publishes it again. The worker's log lines name the job the delivery becomes."""
    from webhooks.tasks import webhook_delivery_task  # webhooks.tasks imports this module

    headers = {HEADER: {"sync_id": sync_id, "reference": reference}} if sync_id else None
    if task_send(webhook_delivery_task, (delivery_id,), headers=headers, what=f"webhook delivery {delivery_id}"):
        return True
    WebhookDelivery.objects.filter(pk=delivery_id).update(dispatched_at=None)  # the sweeper's next pass sends it
    return False


# --- the validated product as the delivery row keeps it ------------------------------------------

DECIMAL_FIELDS = ("price", "weight")


def product_to_json(product: ValidatedProduct) -> dict[Any, Any]:
    """The validated product as JSON (decimals as exact strings, images as their hashes)."""
    fields = {
        name: format(value, "f") if isinstance(value, Decimal) else value for name, value in product.fields.items()
    }
    images = None
    if product.images is not None:
        images = [
            {"fileName": i.file_name, "sha256": i.sha256, "format": i.format, "width": i.width, "height": i.height}
            for i in product.images
        ]
    return {
        "operation": product.operation,
        "reference": product.reference,
        "fields": fields,
        "present": sorted(product.present),
        "images": images,
        "technical_data": product.technical_data,
    }


def product_from_json(data: dict[Any, Any]) -> ValidatedProduct:
    """The inverse of `product_to_json`. Image bytes are in their `ImageBlob` rows (stored with the delivery),
    so the images carry no content: the catalogue only links them."""
    fields = dict(data["fields"])
    for name in DECIMAL_FIELDS:
        if fields.get(name) is not None:
            fields[name] = Decimal(fields[name])
    images = None
    if data.get("images") is not None:
        images = [
            DecodedImage(
                file_name=i["fileName"],
                content=b"",
                sha256=i["sha256"],
                format=i["format"],
                width=i["width"],
                height=i["height"],
            )
            for i in data["images"]
        ]
    return ValidatedProduct(
        operation=data["operation"],
        reference=data["reference"],
        fields=fields,
        present=set(data.get("present") or []),
        images=images,
        technical_data=data.get("technical_data"),
    )


# --- the worker's half ---------------------------------------------------------------------------

# Sources whose jobs carry data the ERP sent (and so can be newer than a delivery still in the queue).
DATA_SOURCES = [SyncSource.API, SyncSource.BATCH, *(s for s in SyncSource.values if s == "import")]


def _reference_xact_lock(reference: str) -> None:
    """Serialise the application of one reference's deliveries until the transaction ends (PostgreSQL;
    SQLite serialises every write transaction anyway)."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(
            hashlib.blake2b(f"intake:{reference}".encode(), digest_size=8).digest(), "big", signed=True
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _superseded(delivery: WebhookDelivery) -> bool:
    """A newer delivery of this reference was applied already, or the API stored newer data since."""
    newer_delivery = WebhookDelivery.objects.filter(
        reference=delivery.reference, pk__gt=delivery.pk, status_code=200, processed_at__isnull=False
    ).exists()
    return (
        newer_delivery
        or SyncJob.objects.filter(
            reference=delivery.reference, source__in=DATA_SOURCES, created_at__gt=delivery.received_at
        ).exists()
    )


def _job_for_current_data(delivery: WebhookDelivery, operation: str) -> SyncJob:
    """A job that only makes the shop match what the service holds (the delivery itself is outdated)."""
    product = product_get_by_reference(reference=delivery.reference)
    held = product is not None and not product.is_deleted
    if operation != SyncOperation.DELETE:
        operation = SyncOperation.UPDATE if held else SyncOperation.CREATE
    return job_create(
        reference=delivery.reference,
        product=product,
        operation=operation,
        source=SyncSource.WEBHOOK,
        payload=delivery.payload or {},
        presta_id=product.presta_id if product else None,
    )


def delivery_process(*, delivery_id: int) -> SyncJob | None:
    """Apply one accepted delivery (worker). Idempotent: a delivery already applied returns its job."""
    for attempt in range(2):
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
                if delivery is None or delivery.status_code != 200 or not delivery.product:
                    return None
                if delivery.processed_at is not None:
                    return delivery.sync_job
                _reference_xact_lock(delivery.reference)
                data = delivery.product
                operation = data["operation"]
                if _superseded(delivery):
                    job = _job_for_current_data(delivery, operation)
                elif operation == SyncOperation.DELETE:
                    job = job_intake_delete(reference=delivery.reference, source=SyncSource.WEBHOOK, allow_unknown=True)
                else:
                    job = job_intake_product(
                        data=product_from_json(data), payload={}, source=SyncSource.WEBHOOK, converge=True
                    )
                # The job answers to the syncId the delivery was acknowledged with; its payload is the audit copy.
                SyncJob.objects.filter(pk=job.pk).update(sync_id=delivery.sync_id, payload=delivery.payload or {})
                job.sync_id, job.payload = delivery.sync_id, delivery.payload or {}
                delivery.sync_job, delivery.processed_at = job, timezone.now()
                delivery.save(update_fields=["sync_job", "processed_at"])
                job_enqueue(job)
            return job
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def delivery_record_oversized(*, meta: DeliveryMeta, size: int, sha256: str, limit_mb: int) -> WebhookDelivery:
    """A delivery refused with 413 before it was parsed (docs/api.md, Webhook keeps every delivery): its size and, when
    the body was read, its hash; never its body. Its signature is not checked (nothing of it is trusted)."""
    return WebhookDelivery.objects.create(
        source_ip=meta.source_ip or None,
        forwarded_for=meta.forwarded_for[:255],
        request_id=meta.request_id[:64],
        user_agent=meta.user_agent[:255],
        content_type=meta.content_type[:255],
        signature_valid=False,
        body_sha256=sha256,
        body_size=min(size, 2**31 - 1),
        status_code=413,
        error="Request body too large",
        error_details=[
            detail("", f"The body ({size:,} bytes) may be at most {limit_mb} MiB; its signature was not checked.")
        ],
    )
