"""The GeSmart webhook (docs/api.md, Webhook): verify → store delivery + pending job → enqueue after commit.

The signature is checked over the raw bytes before anything is parsed. A delivery that passes every
check is stored with its sync job in one transaction, and the task is handed to the broker only once
that transaction has committed (the worker never looks for a row that does not exist yet; if the
broker is down, the job waits in the database for the sweeper). Every delivery, refused or not, leaves
a `WebhookDelivery` row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from rest_framework.exceptions import ParseError, ValidationError

from catalog.validation import DeleteInput, payload_for_storage, product_validate
from config.api.errors import ApplicationError, detail
from config.api.exception_handlers import flatten_errors
from config.api.parsers import StrictJSONParser
from syncjobs.models import SyncJob, SyncSource
from syncjobs.services.enqueue import job_enqueue
from syncjobs.services.intake import job_intake_delete, job_intake_product
from syncjobs.services.shop import shop_unknown_categories

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
    job: SyncJob


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
        text = json.dumps(payload, default=str)
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
    details: list[dict] | None = None,
    job: SyncJob | None = None,
) -> WebhookDelivery:
    reference = operation = ""
    if isinstance(payload, dict):
        reference = _short(payload.get("reference"), 64)
        operation = _short(payload.get("operation"), 16)
    return WebhookDelivery.objects.create(
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
        sync_job=job,
    )


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in JSON_TYPES or (media_type.startswith("application/") and media_type.endswith("+json"))


def _parse(body: bytes, encoding: str) -> object:
    return StrictJSONParser().parse(io.BytesIO(body), parser_context={"encoding": encoding})


def delivery_receive(
    *, body: bytes, signature: str | None, content_type: str, meta: DeliveryMeta, encoding: str = "utf-8"
) -> DeliveryResult:
    """Handle one delivery. Returns the stored delivery and its pending job, or raises an `ApplicationError`
    / DRF exception that the API renders in the envelope (after the refused delivery has been recorded)."""
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
        error = WebhookSignatureError(
            details=[detail(SIGNATURE_HEADER, "The signature header is missing or does not match the body.")]
        )
        _record(meta=meta, body=body, signature_valid=False, status_code=401, error=error.error, details=error.details)
        raise error

    payload: object = None
    try:
        if not _is_json(content_type):
            raise WebhookMediaTypeError(details=[detail("Content-Type", f"Got {content_type or 'none'!r}.")])
        payload = _parse(body, encoding)
        if isinstance(payload, dict) and payload.get("operation") == "delete":
            data = DeleteInput(data=payload)
            data.is_valid(raise_exception=True)
            with transaction.atomic():
                job = job_intake_delete(
                    reference=data.validated_data["reference"], source=SyncSource.WEBHOOK, allow_unknown=True
                )
                delivery = _record(
                    meta=meta,
                    body=body,
                    signature_valid=True,
                    status_code=200,
                    payload=_audit_payload(payload),
                    job=job,
                )
                job_enqueue(job)
        else:
            product = product_validate(payload, check_categories=shop_unknown_categories)
            with transaction.atomic():
                job = job_intake_product(data=product, payload=payload, source=SyncSource.WEBHOOK, converge=True)
                delivery = _record(
                    meta=meta,
                    body=body,
                    signature_valid=True,
                    status_code=200,
                    payload=payload_for_storage(payload, product.images),
                    job=job,
                )
                job_enqueue(job)
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
    logger.info("Webhook accepted: %s %s → job %s", job.operation, job.reference, job.sync_id)
    return DeliveryResult(delivery=delivery, job=job)


def delivery_record_oversized(*, meta: DeliveryMeta, size: int, sha256: str, limit_mb: int) -> WebhookDelivery:
    """A delivery refused with 413 before it was parsed (SPEC §4.5 keeps every delivery): its size and, when
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
