"""What we did about what the ERP sent: one SyncJob per operation, one SyncAttempt per try.

Staff debug from these rows, not from logs: every attempt records when, how long, what the shop
answered and why it failed.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


def new_sync_id() -> str:
    return f"sync_{secrets.token_hex(10)}"


class SyncStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    PARTIAL = "partial", "Partial"


class SyncOperation(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"


class SyncSource(models.TextChoices):
    API = "api", "API"
    BATCH = "batch", "Batch"
    WEBHOOK = "webhook", "Webhook"
    SCHEDULE = "schedule", "Schedule"
    ADMIN = "admin", "Admin"
    COMMAND = "command", "Command"  # a manage.py command
    IMPORT = "import", "Import"  # manage.py import_products (docs/operations.md, Initial import)


class SyncOutcome(models.TextChoices):
    """What a completed job did to the shop."""

    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    ADOPTED = "adopted", "Adopted (already in the shop)"
    UNCHANGED = "unchanged", "Unchanged"
    DELETED = "deleted", "Deleted"
    ABSENT = "absent", "Absent (nothing to do)"


class SyncJob(models.Model):
    sync_id = models.CharField(max_length=40, unique=True, default=new_sync_id, editable=False)
    reference = models.CharField(max_length=64, db_index=True)
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_jobs"
    )
    operation = models.CharField(max_length=8, choices=SyncOperation.choices)
    source = models.CharField(max_length=16, choices=SyncSource.choices)
    status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.PENDING, db_index=True)
    force = models.BooleanField(default=False, help_text="Push every part even if nothing changed")
    # The request as received; image bytes are replaced by their hash and size (the bytes are in ImageBlob).
    payload = models.JSONField(default=dict, blank=True)
    product_version = models.PositiveIntegerField(null=True, blank=True)

    attempts = models.PositiveIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    presta_id = models.PositiveIntegerField(null=True, blank=True)
    images_processed = models.PositiveSmallIntegerField(default=0)
    technical_data_processed = models.PositiveSmallIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, default="")
    error_details = models.JSONField(default=list, blank=True)
    outcome = models.CharField(max_length=32, blank=True, default="", choices=SyncOutcome.choices)
    # When the job's newest task message is due at a worker (publish time + countdown), None if never sent.
    # The recovery sweeper re-sends only messages it knows are lost, and never one sent within its window.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["reference", "-id"], name="syncjob_reference_recent"),
            models.Index(fields=["status", "updated_at"], name="syncjob_status_updated"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=SyncStatus.values), name="syncjob_status_valid"),
            models.CheckConstraint(
                condition=models.Q(operation__in=SyncOperation.values), name="syncjob_operation_valid"
            ),
            models.CheckConstraint(condition=models.Q(source__in=SyncSource.values), name="syncjob_source_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.sync_id} {self.operation} {self.reference} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in (SyncStatus.COMPLETED, SyncStatus.PARTIAL) or (
            self.status == SyncStatus.FAILED and self.next_retry_at is None
        )


class SyncAttempt(models.Model):
    class Trigger(models.TextChoices):
        REQUEST = "request", "API request"
        WORKER = "worker", "Worker"
        RETRY = "retry", "Automatic retry"
        SWEEPER = "sweeper", "Sweeper"
        ADMIN = "admin", "Admin retry"

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partial"
        FAILED = "failed", "Failed"

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveIntegerField()
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    calls = models.PositiveIntegerField(default=0, help_text="Webservice calls made")
    error = models.TextField(blank=True, default="")
    remote = models.JSONField(default=dict, blank=True, help_text="What the remote system answered")
    worker = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["job", "number"]
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="syncattempt_job_number_unique")]

    def __str__(self) -> str:
        return f"{self.job.sync_id} #{self.number} {self.outcome}"


class ResyncRun(models.Model):
    """One full resync (scheduled, from the admin, or a dry run): progress and what it found."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    dry_run = models.BooleanField(default=False)
    source = models.CharField(max_length=16, choices=SyncSource.choices, default=SyncSource.SCHEDULE)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    force = models.BooleanField(default=False)
    total = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    checked = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=list, blank=True, help_text="What changed (or would change), capped")
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        kind = "Dry run" if self.dry_run else "Full resync"
        return f"{kind} #{self.pk} ({self.status})"

    @property
    def progress_percent(self) -> int:
        if not self.chunks_total:
            return 100 if self.status != self.Status.RUNNING else 0
        return int(100 * self.chunks_done / self.chunks_total)
