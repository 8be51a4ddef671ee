"""Productsup exports: every batch the service sent (or tried to), what was in it, and the export lease.

- `ProductsupBatch`: one remote batch id (32 characters), its kind (full/delta), transport, counts,
  the commit answer, the process started for it, timings and the error. A batch that failed midway is
  discarded and sent again as a whole under a *new* batch id: a new row, `retry_of` the failed one.
- `ProductsupBatchItem`: the changed products a batch carried, with the exact `productsup_dirty_at`
  read together with the row. When the batch commits, a product's dirty mark is cleared only if it
  still holds that exact timestamp, so a change made while the batch was in flight is never lost.
- `ProductsupExportState`: one row. `lease_*` is the cross-machine lock that lets one export run at a
  time (taken and released by conditional UPDATEs, expiring on its own if a worker dies); `flush_due_at`
  is the debounce marker (a delta flush is scheduled for then).
"""

from __future__ import annotations

from django.db import models


class ProductsupBatch(models.Model):
    class Kind(models.TextChoices):
        FULL = "full", "Full"
        DELTA = "delta", "Delta"

    class Status(models.TextChoices):
        UPLOADING = "uploading", "Uploading"
        COMMITTED = "committed", "Committed"
        PARTIAL = "partial", "Committed with refused products"
        FAILED = "failed", "Failed"
        DISCARDED = "discarded", "Discarded"

    class Trigger(models.TextChoices):
        CHANGE = "change", "Product change (delta flush)"
        SCHEDULE = "schedule", "Schedule"
        ADMIN = "admin", "Admin"
        COMMAND = "command", "Command"
        RETRY = "retry", "Retry"

    batch_id = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    transport = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADING, db_index=True)
    triggered_by = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.CHANGE)
    attempt = models.PositiveSmallIntegerField(default=1, help_text="Whole-batch attempt within one export run")
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries")

    rows = models.PositiveIntegerField(default=0, help_text="Rows sent (deletion rows included)")
    deleted_rows = models.PositiveIntegerField(default=0)
    skipped_rows = models.PositiveIntegerField(default=0, help_text="Deleted products a full export leaves out")
    invalid_rows = models.PositiveIntegerField(default=0, help_text="Products the stream refused (partial upload)")
    requests = models.PositiveIntegerField(default=0, help_text="Upload/delete requests (the commit not counted)")
    bytes = models.PositiveBigIntegerField(default=0)
    commit_response = models.JSONField(default=dict, blank=True)
    remote_batch_ids = models.JSONField(default=list, blank=True, help_text="Stream API batch ids, one per request")

    process_id = models.CharField(max_length=64, blank=True, default="")
    process_status = models.CharField(max_length=16, blank=True, default="")

    started_at = models.DateTimeField(auto_now_add=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    error = models.TextField(blank=True, default="")
    error_details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "Productsup batch"
        verbose_name_plural = "Productsup batches"
        indexes = [models.Index(fields=["kind", "status"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.batch_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.UPLOADING


class ProductsupBatchItem(models.Model):
    batch = models.ForeignKey(ProductsupBatch, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    dirty_at = models.DateTimeField(help_text="productsup_dirty_at read together with the row that was sent")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["batch", "product"], name="productsup_item_once_per_batch")]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.product_id}"


class ProductsupExportState(models.Model):
    """Singleton (pk=1)."""

    lease_holder = models.CharField(max_length=128, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    flush_due_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Productsup export state"

    def __str__(self) -> str:
        return f"lease={self.lease_holder or '-'} flush_due_at={self.flush_due_at or '-'}"
