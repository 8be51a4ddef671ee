"""Deliveries the API refuses before the webhook view runs: a body over `API_MAX_BODY_MB` is answered 413 by
`config.api.middleware` unparsed; this keeps its delivery row (size and hash, no body) all the same."""

from __future__ import annotations

import hashlib
import logging

from django.dispatch import receiver
from django.urls import reverse

from config.api.middleware import body_too_large, current_request_id

from .services import DeliveryMeta, delivery_record_oversized

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
# The body is hashed as it streams past (constant memory) up to this many times the limit; a bigger one is
# recorded with its declared size only.
HASH_MAX_FACTOR = 2


def _streamed_sha256(request, size: int, limit: int) -> str:
    if size > HASH_MAX_FACTOR * limit:
        return ""
    digest = hashlib.sha256()
    while chunk := request.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


@receiver(body_too_large, dispatch_uid="webhooks-keep-oversized-delivery")
def keep_oversized_delivery(sender, *, request, size: int, limit: int, **kwargs) -> None:
    if request.method != "POST" or request.path != reverse("webhook-gesmart-products"):
        return
    meta = DeliveryMeta(
        source_ip=request.META.get("REMOTE_ADDR") or None,
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR", ""),
        request_id=current_request_id(),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        content_type=request.META.get("CONTENT_TYPE", ""),
    )
    sha256 = _streamed_sha256(request, size, limit)
    delivery = delivery_record_oversized(meta=meta, size=size, sha256=sha256, limit_mb=limit // (1024 * 1024))
    logger.warning(
        "Webhook refused (body too large) from %s: %d bytes", meta.source_ip, size, extra={"delivery": delivery.pk}
    )
