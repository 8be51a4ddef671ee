"""Back-office for sync jobs: find a job, see why it failed, retry it where a retry can help; follow resyncs.

Staff are shop operators: every page answers "what happened to this product?" without reading logs.
Jobs are never edited by hand. Retrying a job needs `syncjobs.change_syncjob`, starting a resync
`syncjobs.change_resyncrun` (the one permission model of `config.admin.permissions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import DateFieldListFilter
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from config.admin.actions import ObjectActionsAdminMixin, object_action
from config.admin.display import (
    admin_change_link,
    duration_display,
    error_first_line,
    image_thumbnail,
    pretty_json,
    progress_bar,
    status_badge,
    thumbnails,
)
from config.admin.permissions import ReadOnlyAdminMixin
from exports.models import ProductsupBatch
from syncjobs.models import ResyncRun, SyncAttempt, SyncJob, SyncStatus
from syncjobs.services.resync import resync_request
from syncjobs.services.retry import job_retry
from webhooks.models import WebhookDelivery

# The product object's fields in the API document's order (the database keeps JSON objects without key order).
PAYLOAD_ORDER = (
    "operation",
    "reference",
    "name",
    "description",
    "price",
    "quantity",
    "active",
    "categories",
    "ean13",
    "weight",
    "brand",
    "images",
    "technical_data",
)
RETRY_FILTER_MAX = 5000  # jobs retried by one "retry all failed in this filter" click
CONFIG_STATUSES = (401, 403)
SYSTEM_NAMES = {
    "prestashop": "PrestaShop",
    "productsup": "Productsup",
}  # the shop refuses our key: fix the configuration, then a retry helps


# --- can a retry help? --------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryAdvice:
    helps: bool
    reason: str = ""  # why not (or what to do first)


def retry_advice(job: SyncJob) -> RetryAdvice:
    """Whether a new attempt of `job` can change anything, and if not, what staff should fix instead."""
    if job.status == SyncStatus.PROCESSING:
        return RetryAdvice(False, "This job is running right now.")
    if job.status == SyncStatus.PENDING:
        return RetryAdvice(False, "This job is waiting for a worker; it runs on its own.")
    if job.status == SyncStatus.COMPLETED:
        return RetryAdvice(
            False,
            "This job completed: there is nothing to retry. To push the product again, use "
            "“Sync to shop now” on the product.",
        )
    details = job.error_details[0] if job.error_details and isinstance(job.error_details[0], dict) else {}
    if job.status == SyncStatus.PARTIAL:
        if job.next_retry_at or job.attempts >= settings.SYNC_MAX_ATTEMPTS:
            return RetryAdvice(True)
        return RetryAdvice(
            False,
            "The product is in the shop; the shop refused some of its images. Sending the same images again "
            "cannot succeed: fix the images in the ERP (it sends the product again).",
        )
    # failed
    if "retryable" not in details:
        return RetryAdvice(True)  # an internal error or a lost worker: a new attempt may well succeed
    if details.get("retryable"):
        return RetryAdvice(True)
    status = details.get("status")
    system = SYSTEM_NAMES.get(details.get("system") or "", details.get("system") or "The shop")
    if status in CONFIG_STATUSES:
        return RetryAdvice(
            True, f"{system} refuses our credentials (HTTP {status}): fix the API key in the settings, then retry."
        )
    return RetryAdvice(
        False,
        f"{system} refuses this product (HTTP {status or '?'}): {details.get('message') or job.error}. "
        "Retrying sends the same data and cannot succeed: fix it in the ERP, which then sends it again.",
    )


# --- sync jobs ----------------------------------------------------------------------------------


class SyncAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SyncAttempt
    extra = 0
    max_num = 0  # records: no "add another" row
    can_delete = False
    show_change_link = False
    fields = (
        "number",
        "trigger_display",
        "outcome_badge",
        "started_at",
        "duration",
        "calls",
        "error_display",
        "remote_display",
        "worker",
    )
    readonly_fields = fields
    verbose_name = "attempt"
    verbose_name_plural = "attempts (each try, who or what started it, and what the remote system answered)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("triggered_by").order_by("number")

    @admin.display(description="trigger")
    def trigger_display(self, obj):
        label = obj.get_trigger_display()
        if obj.triggered_by_id:
            return format_html("{}<br><small>by {}</small>", label, obj.triggered_by.get_username())
        return label

    @admin.display(description="outcome")
    def outcome_badge(self, obj):
        return status_badge(obj.outcome, obj.get_outcome_display())

    @admin.display(description="duration")
    def duration(self, obj):
        return duration_display(obj.duration_ms)

    @admin.display(description="error")
    def error_display(self, obj):
        if not obj.error:
            return "—"
        return format_html('<div class="ps-error ps-error-cell">{}</div>', obj.error)

    @admin.display(description="remote answer")
    def remote_display(self, obj):
        if not obj.remote:
            return "—"
        status = obj.remote.get("status") if isinstance(obj.remote, dict) else None
        return render_to_string(
            "admin/products_sync/details.html",
            {"summary": f"HTTP {status}" if status else "show", "body": pretty_json(obj.remote)},
        )


@admin.register(SyncJob)
class SyncJobAdmin(ObjectActionsAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    # The key columns first: at 1280 px with the navigation sidebar and the filters open they all show.
    list_display = ("sync_id", "reference", "status_badge", "error_line", "source", "started")
    list_display_links = ("sync_id",)
    list_filter = ("status", "operation", "source", ("created_at", DateFieldListFilter))
    search_fields = ("=sync_id", "reference")
    search_help_text = "Search by reference (contains) or exact sync id."
    list_per_page = 50
    show_full_result_count = False
    ordering = ("-created_at", "-id")
    actions = ["retry_selected"]
    change_actions = ["retry_job"]
    changelist_actions = ["retry_failed_in_filter"]
    inlines = [SyncAttemptInline]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "sync_id",
                    "status_badge",
                    "reference",
                    "product_link",
                    "operation",
                    "source",
                    "requested_by",
                    "force",
                )
            },
        ),
        ("Error", {"fields": ("error_display", "retry_display", "error_details_display")}),
        ("Timing", {"fields": ("created_at", "started_at", "completed_at", "duration", "attempts", "next_retry_at")}),
        (
            "Result",
            {"fields": ("outcome", "presta_id", "images_processed", "technical_data_processed", "warnings_display")},
        ),
        ("Payload as received", {"fields": ("payload_images", "payload_display")}),
        ("Related", {"fields": ("webhook_links", "productsup_links")}),
    )
    readonly_fields = (
        "sync_id",
        "status_badge",
        "reference",
        "product_link",
        "operation",
        "source",
        "requested_by",
        "force",
        "created_at",
        "started_at",
        "completed_at",
        "duration",
        "attempts",
        "next_retry_at",
        "outcome",
        "presta_id",
        "images_processed",
        "technical_data_processed",
        "warnings_display",
        "error_display",
        "retry_display",
        "error_details_display",
        "payload_images",
        "payload_display",
        "webhook_links",
        "productsup_links",
    )

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name and match.url_name.endswith("_changelist"):
            # The list never shows these; they can be large.
            qs = qs.defer("payload", "warnings")
        else:
            qs = qs.select_related("product", "requested_by")
        return qs

    def offered_change_actions(self, request, obj):
        return ["retry_job"] if retry_advice(obj).helps else []

    # --- retrying ----------------------------------------------------------------------------------

    def _retry(self, request, jobs) -> None:
        queued = refused = 0
        reasons: dict[str, int] = {}
        for job in jobs:
            advice = retry_advice(job)
            if advice.helps and job_retry(job=job, user=request.user):
                queued += 1
            else:
                refused += 1
                reason = advice.reason or "It is running right now."
                reasons[reason] = reasons.get(reason, 0) + 1
        if queued:
            self.message_user(
                request, f"{queued} job{'s' if queued != 1 else ''} queued for a new attempt.", messages.SUCCESS
            )
        for reason, count in reasons.items():
            self.message_user(
                request, f"{count} job{'s' if count != 1 else ''} not retried: {reason}", messages.WARNING
            )
        if not queued and not refused:
            self.message_user(request, "No job to retry.", messages.INFO)

    @admin.action(description="Retry selected jobs (a new attempt, recorded with your name)", permissions=["operate"])
    def retry_selected(self, request, queryset):
        self._retry(request, list(queryset.defer("payload")))

    @object_action(label="Retry this job", description="A new attempt, recorded with your name", css_class="ps-danger")
    def retry_job(self, request, obj):
        self._retry(request, [obj])

    @object_action(label="Retry all failed in this filter", description="Every failed job the list shows now")
    def retry_failed_in_filter(self, request, queryset):
        """Retry every failed job of the list's current filter (no selection needed)."""
        filters = QueryDict(request.GET.get("_changelist_filters", ""))
        request.GET = filters
        changelist = self.get_changelist_instance(request)
        failed = changelist.get_queryset(request).select_related(None).filter(status=SyncStatus.FAILED)
        jobs = list(failed.order_by("pk").defer("payload")[:RETRY_FILTER_MAX])
        self._retry(request, jobs)
        if len(jobs) == RETRY_FILTER_MAX:
            self.message_user(
                request, f"Retried the first {RETRY_FILTER_MAX}; click again for the rest.", messages.WARNING
            )
        query = filters.urlencode()
        return HttpResponseRedirect(reverse("admin:syncjobs_syncjob_changelist") + (f"?{query}" if query else ""))

    # --- columns and fields ----------------------------------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        badge = status_badge(obj.status, obj.get_status_display())
        if obj.status == SyncStatus.FAILED and obj.next_retry_at:
            return format_html(
                '{} <small title="next automatic retry">↻ {}</small>',
                badge,
                timezone.localtime(obj.next_retry_at).strftime("%H:%M:%S"),
            )
        return badge

    @admin.display(description="error")
    def error_line(self, obj):
        return error_first_line(obj.error)

    @admin.display(description="started", ordering="started_at")
    def started(self, obj):
        if not obj.started_at:
            return "—"
        local = timezone.localtime(obj.started_at)
        return format_html(
            '<span class="ps-nowrap" title="{}">{}</span>', local.isoformat(), local.strftime("%d %b %H:%M")
        )

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, obj):
        return duration_display(obj.duration_ms)

    @admin.display(description="product")
    def product_link(self, obj):
        if not obj.product_id:
            return "—"
        return admin_change_link("catalog", "product", obj.product_id, str(obj.product))

    @admin.display(description="warnings")
    def warnings_display(self, obj):
        if not obj.warnings:
            return "—"
        return render_to_string("admin/products_sync/list.html", {"items": obj.warnings})

    @admin.display(description="error")
    def error_display(self, obj):
        if not obj.error:
            return "—"
        return format_html('<div class="sync-error ps-error">{}</div>', obj.error)

    @admin.display(description="retry")
    def retry_display(self, obj):
        advice = retry_advice(obj)
        if advice.helps:
            return advice.reason or "A new attempt can help: use “Retry this job” above."
        return format_html('<div class="ps-retry-advice">{}</div>', advice.reason)

    @admin.display(description="error details (what the remote system answered)")
    def error_details_display(self, obj):
        return pretty_json(obj.error_details)

    @admin.display(description="images")
    def payload_images(self, obj):
        images = (obj.payload or {}).get("images") if isinstance(obj.payload, dict) else None
        if not images:
            return "—"
        return thumbnails(
            image_thumbnail(
                sha256=image["sha256"],
                file_name=image.get("fileName", ""),
                size=image.get("size"),
                fmt=image.get("format", ""),
                width=image.get("width"),
                height=image.get("height"),
                position=index,
            )
            for index, image in enumerate(images, start=1)
            if isinstance(image, dict) and image.get("sha256")
        )

    @admin.display(description="payload")
    def payload_display(self, obj):
        return pretty_json(obj.payload, tall=True, key_order=PAYLOAD_ORDER)

    @admin.display(description="webhook deliveries")
    def webhook_links(self, obj):
        deliveries = list(WebhookDelivery.objects.filter(sync_job=obj).order_by("-received_at")[:10])
        return self._links("webhooks", "webhookdelivery", deliveries)

    @admin.display(description="Productsup batches")
    def productsup_links(self, obj):
        """The Productsup batches that carried this product after this job."""
        if not obj.product_id:
            return "—"
        batches = list(
            ProductsupBatch.objects.filter(items__product_id=obj.product_id, started_at__gte=obj.created_at).order_by(
                "started_at"
            )[:5]
        )
        return self._links("exports", "productsupbatch", batches)

    @staticmethod
    def _links(app_label: str, model_name: str, objects):
        if not objects:
            return "—"
        return render_to_string(
            "admin/products_sync/links.html",
            {"links": [admin_change_link(app_label, model_name, o.pk, str(o)) for o in objects]},
        )


# --- full resyncs -------------------------------------------------------------------------------


def resync_progress(run: ResyncRun) -> dict:
    return {
        "id": run.pk,
        "status": run.status,
        "dryRun": run.dry_run,
        "percent": run.progress_percent,
        "total": run.total,
        "chunksTotal": run.chunks_total,
        "chunksDone": run.chunks_done,
        "checked": run.checked,
        "changed": run.changed,
        "failed": run.failed,
        "error": run.error,
        "startedAt": run.started_at.isoformat() if run.started_at else None,
        "finishedAt": run.finished_at.isoformat() if run.finished_at else None,
        "url": reverse("admin:syncjobs_resyncrun_change", args=[run.pk]),
    }


@admin.register(ResyncRun)
class ResyncRunAdmin(ObjectActionsAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "status_badge",
        "source",
        "requested_by",
        "progress",
        "checked",
        "changed",
        "failed",
        "started_at",
    )
    list_filter = ("status", "dry_run", "source", ("started_at", DateFieldListFilter))
    list_select_related = ("requested_by",)
    show_full_result_count = False
    changelist_actions = ["start_resync"]
    fields = (
        "status_badge",
        "dry_run",
        "force",
        "source",
        "requested_by",
        "progress",
        "total",
        "chunks_total",
        "chunks_done",
        "checked",
        "changed",
        "failed",
        "started_at",
        "finished_at",
        "error",
        "report_display",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name and match.url_name.endswith("_changelist"):
            qs = qs.defer("report")
        return qs

    def get_urls(self):
        return [
            path(
                "<int:pk>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="syncjobs_resyncrun_progress",
            ),
            *super().get_urls(),
        ]

    @object_action(label="Start full resync", description="Check every product against the shop and fix drift")
    def start_resync(self, request, queryset):
        """Start a full resync (also the dashboard's button) and go back to the dashboard, which shows progress."""
        dry_run = request.POST.get("dry_run") == "1"
        running = ResyncRun.objects.filter(
            status=ResyncRun.Status.RUNNING, dry_run=dry_run, started_at__gte=timezone.now() - timedelta(hours=6)
        ).first()
        if running is not None:
            self.message_user(request, f"{running} is already running.", messages.WARNING)
            run = running
        else:
            run = resync_request(
                dry_run=dry_run, user=request.user, source="admin", force=request.POST.get("force") == "1"
            )
            self.message_user(
                request, f"{'Dry run' if dry_run else 'Full resync'} #{run.pk} started.", messages.SUCCESS
            )
        return HttpResponseRedirect(reverse("admin:index") + f"?resync={run.pk}#sync-resync")

    def progress_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = get_object_or_404(ResyncRun.objects.defer("report"), pk=pk)
        return JsonResponse(resync_progress(run))

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="progress")
    def progress(self, obj):
        return progress_bar(obj.progress_percent, obj.status)

    @admin.display(description="report (what changed, or would change)")
    def report_display(self, obj):
        return pretty_json(obj.report, tall=True)
