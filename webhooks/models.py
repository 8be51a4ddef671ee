"""Every webhook delivery, valid or not, kept for audit (docs/api.md, Webhook).

One row per request that reached the view: when, from where, whether the signature was valid, what the
body was (its hash and size always; the payload itself only once the signature proved it came from the
ERP, with image bytes replaced by their hash and size), how the service answered and which sync job it
started. Staff debug deliveries from these rows, not from logs.

An accepted delivery is also the unit of work of the intake: the request stores this one row (with the
validated product in `product` and the `sync_id` it answered with) and publishes one message; the worker
applies it to the catalogue, creates the sync job with that `sync_id` and sets `processed_at`
(`webhooks/services.py`); `dispatched_at` is when its message was last published, so the recovery
sweeper (syncjobs/services/recovery.py) publishes again, within SYNC_RECOVERY_SECONDS, a delivery whose
message the broker lost or a dead worker held, and never twice within its window. Until then `GET /api/products/sync?syncId=` answers `pending` from this row.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class WebhookDelivery(models.Model):
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True, unpack_ipv4=True)
    forwarded_for = models.CharField(max_length=255, blank=True, default="", help_text="X-Forwarded-For, as sent")
    request_id = models.CharField(max_length=64, blank=True, default="", help_text="Ties the row to log lines")
    user_agent = models.CharField(max_length=255, blank=True, default="")
    content_type = models.CharField(max_length=255, blank=True, default="")

    signature_valid = models.BooleanField(default=False)
    body_sha256 = models.CharField(max_length=64, db_index=True)
    body_size = models.PositiveIntegerField(help_text="bytes")

    reference = models.CharField(max_length=64, blank=True, default="", db_index=True)
    operation = models.CharField(max_length=16, blank=True, default="")
    payload = models.JSONField(
        null=True,
        blank=True,
        help_text="The body as received (signed deliveries only), image bytes replaced by hash and size",
    )

    status_code = models.PositiveSmallIntegerField(help_text="What the service answered")
    error = models.TextField(blank=True, default="")
    error_details = models.JSONField(default=list, blank=True)
    sync_job = models.ForeignKey(
        "syncjobs.SyncJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_deliveries"
    )
    sync_id = models.CharField(
        max_length=40, blank=True, default="", db_index=True, help_text="The syncId the delivery was answered with"
    )
    product = models.JSONField(
        null=True, blank=True, help_text="Accepted deliveries: the validated product the worker applies"
    )
    processed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the worker applied the delivery and created its sync job"
    )
    dispatched_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Accepted deliveries: when its task message was last published (null: the broker refused it)",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["signature_valid", "-received_at"], name="webhook_sigvalid_recent"),
            # The sweeper's query: accepted deliveries the worker has not applied yet.
            models.Index(
                fields=["received_at"],
                name="webhook_unprocessed",
                condition=models.Q(status_code=200, processed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        what = self.reference or self.body_sha256[:12]
        return f"Webhook {what} {self.received_at:%Y-%m-%d %H:%M:%S} → {self.status_code}"
