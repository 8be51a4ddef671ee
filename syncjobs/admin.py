"""Back-office for sync jobs: find a job, see why it failed, retry it; follow full resyncs.

Staff are shop operators: every page answers "what happened to this product?" without reading logs.
Jobs are never edited by hand. "Operating" (retry a job, start a resync, sync a product) needs the
`syncjobs.change_syncjob` permission; the "Sync viewers" group (`manage.py setup_staff_groups`) has
view permissions only, so it can look but not retry.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import DateFieldListFilter
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from config.admin_mixins import ReadOnlyAdminMixin
from syncjobs.models import ResyncRun, SyncAttempt, SyncJob, SyncStatus
from syncjobs.services.resync import resync_request
from syncjobs.services.retry import job_retry, jobs_retry

OPERATE_PERMISSION = "syncjobs.change_syncjob"
RETRY_FILTER_MAX = 5000  # jobs retried by one "retry all failed in this filter" click

BADGE_COLOURS = {
    # status: (background, text)
    "completed": ("#2e7d32", "#fff"),
    "succeeded": ("#2e7d32", "#fff"),
    "committed": ("#2e7d32", "#fff"),
    "partial": ("#f0a500", "#1f1f1f"),
    "failed": ("#c62828", "#fff"),
    "processing": ("#1565c0", "#fff"),
    "running": ("#1565c0", "#fff"),
    "uploading": ("#1565c0", "#fff"),
    "pending": ("#757575", "#fff"),
    "discarded": ("#757575", "#fff"),
}


# --- display helpers (shared with catalog.admin and the dashboard) ------------------------------


def can_operate(user) -> bool:
    """Retry jobs, start resyncs, sync products: staff with the change permission on sync jobs."""
    return bool(user and user.is_active and user.is_staff and user.has_perm(OPERATE_PERMISSION))


def status_badge(status: str, label: str | None = None):
    if not status:
        return "—"
    background, colour = BADGE_COLOURS.get(status, ("#9e9e9e", "#fff"))
    return format_html(
        '<span class="sync-badge sync-badge-{}" style="display:inline-block;padding:2px 9px;border-radius:10px;'
        'font-size:11px;font-weight:600;letter-spacing:.02em;background:{};color:{};white-space:nowrap">{}</span>',
        status,
        background,
        colour,
        label or status,
    )


def duration_display(ms: int | None) -> str:
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _shorten(value, key: str = ""):
    """A copy of a JSON value fit for reading: base64 and other very long strings are summarised."""
    if isinstance(value, dict):
        return {k: _shorten(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    if isinstance(value, str):
        if key.lower() == "base64" and len(value) > 80:
            return f"<{len(value):,} base64 characters omitted>"
        if len(value) > 2000:
            return f"{value[:500]}… <{len(value):,} characters in all>"
    return value


def pretty_json(value, *, max_height: int = 480):
    if value in (None, "", [], {}):
        return "—"
    text = json.dumps(_shorten(value), indent=2, ensure_ascii=False, sort_keys=False, default=str)
    return format_html(
        '<pre class="sync-json" style="max-height:{}px;overflow:auto;white-space:pre-wrap;word-break:break-word;'
        "background:var(--darkened-bg,#f8f8f8);border:1px solid var(--hairline-color,#ddd);padding:8px 10px;"
        'margin:0;border-radius:4px;font-size:12px;line-height:1.45">{}</pre>',
        max_height,
        text,
    )


def image_url(sha256: str, *, thumb: bool = True) -> str | None:
    try:
        url = reverse("admin:catalog_product_image", args=[sha256])
    except NoReverseMatch:
        return None
    return f"{url}?thumb=1" if thumb else url


def image_thumbnail(
    *,
    sha256: str,
    file_name: str = "",
    size: int | None = None,
    fmt: str = "",
    width: int | None = None,
    height: int | None = None,
    position: int | None = None,
):
    """One image as a thumbnail (served by a staff-only view, never inlined as base64) and its facts."""
    thumb, full = image_url(sha256), image_url(sha256, thumb=False)
    facts = " · ".join(
        part
        for part in (
            (fmt or "").upper(),
            f"{width}×{height}" if width and height else "",
            filesizeformat(size) if size is not None else "",
        )
        if part
    )
    caption = f"{position}. {file_name}" if position is not None else file_name
    img = (
        format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{}" loading="lazy" '
            'style="width:120px;height:120px;object-fit:contain;background:#fff;border:1px solid #ddd;'
            'border-radius:4px;display:block"></a>',
            full,
            thumb,
            file_name,
        )
        if thumb
        else format_html('<div style="width:120px;height:120px;border:1px dashed #ccc"></div>')
    )
    return format_html(
        '<figure class="sync-thumb" style="display:inline-block;margin:0 12px 12px 0;vertical-align:top;'
        'width:124px">{}<figcaption style="font-size:11px;line-height:1.35;margin-top:4px;overflow-wrap:anywhere">'
        '<strong>{}</strong><br>{}<br><code style="font-size:10px">{}…</code></figcaption></figure>',
        img,
        caption or "—",
        facts,
        sha256[:12],
    )


def admin_change_link(app_label: str, model_name: str, pk, text) -> str:
    """A link to another app's admin page, or plain text if that admin is not installed."""
    try:
        url = reverse(f"admin:{app_label}_{model_name}_change", args=[pk])
    except NoReverseMatch:
        return format_html("{}", text)
    return format_html('<a href="{}">{}</a>', url, text)


def _optional_model(app_label: str, model_name: str):
    try:
        return apps.get_model(app_label, model_name)
    except LookupError:
        return None


# --- sync jobs ----------------------------------------------------------------------------------


class SyncAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SyncAttempt
    extra = 0
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
        return format_html('<div style="max-width:420px;white-space:pre-wrap;color:#c62828">{}</div>', obj.error)

    @admin.display(description="remote answer")
    def remote_display(self, obj):
        if not obj.remote:
            return "—"
        status = obj.remote.get("status") if isinstance(obj.remote, dict) else None
        summary = f"HTTP {status}" if status else "show"
        return format_html(
            '<details style="max-width:520px"><summary style="cursor:pointer">{}</summary>{}</details>',
            summary,
            pretty_json(obj.remote, max_height=320),
        )


class FailedFirstLineMixin:
    @admin.display(description="error")
    def error_first_line(self, obj):
        if not obj.error:
            return ""
        first = obj.error.strip().splitlines()[0] if obj.error.strip() else ""
        return format_html(
            '<span title="{}" style="color:#c62828;display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;'
            'max-width:170px;overflow:hidden;word-break:break-word;font-size:12px;line-height:1.3">{}</span>',
            obj.error[:1000],
            first[:300],
        )


@admin.register(SyncJob)
class SyncJobAdmin(ReadOnlyAdminMixin, FailedFirstLineMixin, admin.ModelAdmin):
    list_display = (
        "sync_id",
        "reference",
        "operation",
        "source",
        "status_badge",
        "attempts",
        "started",
        "duration",
        "error_first_line",
    )
    list_display_links = ("sync_id",)
    list_filter = ("status", "operation", "source", ("created_at", DateFieldListFilter))
    search_fields = ("=sync_id", "reference")
    search_help_text = "Search by reference (contains) or exact sync id."
    list_per_page = 50
    show_full_result_count = False
    ordering = ("-created_at", "-id")
    actions = ["retry_selected"]
    inlines = [SyncAttemptInline]
    change_list_template = "admin/syncjobs/syncjob/change_list.html"
    change_form_template = "admin/syncjobs/syncjob/change_form.html"
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
        ("Error", {"fields": ("error_display", "error_details_display")}),
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
        "error_details_display",
        "payload_images",
        "payload_display",
        "webhook_links",
        "productsup_links",
    )

    # Permissions: jobs are records, never edited, added or deleted by hand.
    def has_retry_permission(self, request):
        return can_operate(request.user)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name and match.url_name.endswith("_changelist"):
            # The list never shows these; they can be large.
            qs = qs.defer("payload", "error_details", "warnings")
        else:
            qs = qs.select_related("product", "requested_by")
        return qs

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("retry-failed/", self.admin_site.admin_view(self.retry_failed_view), name=f"{prefix}_retry_failed"),
            path("<int:pk>/retry/", self.admin_site.admin_view(self.retry_one_view), name=f"{prefix}_retry"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_operate": can_operate(request.user)}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_operate": can_operate(request.user)}
        return super().change_view(request, object_id, form_url, extra_context)

    # --- actions ---------------------------------------------------------------------------------

    @admin.action(description="Retry selected jobs (a new attempt, recorded with your name)", permissions=["retry"])
    def retry_selected(self, request, queryset):
        jobs = list(queryset.only("pk", "status"))
        queued = jobs_retry(jobs=jobs, user=request.user)
        self._report_retry(request, queued=queued, total=len(jobs))

    def _report_retry(self, request, *, queued: int, total: int) -> None:
        if queued:
            self.message_user(
                request, f"{queued} job{'s' if queued != 1 else ''} queued for a new attempt.", messages.SUCCESS
            )
        skipped = total - queued
        if skipped:
            verb = "are running right now and were" if skipped != 1 else "is running right now and was"
            self.message_user(
                request, f"{skipped} job{'s' if skipped != 1 else ''} {verb} not retried.", messages.WARNING
            )
        if not total:
            self.message_user(request, "No job to retry.", messages.INFO)

    def retry_one_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not can_operate(request.user):
            raise PermissionDenied
        job = get_object_or_404(SyncJob, pk=pk)
        queued = job_retry(job=job, user=request.user)
        self._report_retry(request, queued=int(queued), total=1)
        return HttpResponseRedirect(reverse("admin:syncjobs_syncjob_change", args=[job.pk]))

    def retry_failed_view(self, request):
        """Retry every failed job in the list's current filter (the query string), no selection needed."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not can_operate(request.user):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        failed = changelist.get_queryset(request).select_related(None).filter(status=SyncStatus.FAILED)
        jobs = list(failed.order_by("pk").only("pk", "status")[:RETRY_FILTER_MAX])
        queued = jobs_retry(jobs=jobs, user=request.user)
        self._report_retry(request, queued=queued, total=len(jobs))
        if len(jobs) == RETRY_FILTER_MAX:
            self.message_user(
                request, f"Retried the first {RETRY_FILTER_MAX}; click again for the rest.", messages.WARNING
            )
        query = request.META.get("QUERY_STRING", "")
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

    @admin.display(description="started", ordering="started_at")
    def started(self, obj):
        if not obj.started_at:
            return "—"
        local = timezone.localtime(obj.started_at)
        return format_html(
            '<span style="white-space:nowrap" title="{}">{}</span>', local.isoformat(), local.strftime("%d %b %H:%M")
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
        return format_html(
            '<ul style="margin:0;padding-left:18px">{}</ul>',
            format_html_join("", "<li>{}</li>", ((w,) for w in obj.warnings)),
        )

    @admin.display(description="error")
    def error_display(self, obj):
        if not obj.error:
            return "—"
        return format_html(
            '<div class="sync-error" style="white-space:pre-wrap;color:#c62828;font-weight:600;max-width:900px">{}</div>',
            obj.error,
        )

    @admin.display(description="error details (what the remote system answered)")
    def error_details_display(self, obj):
        return pretty_json(obj.error_details)

    @admin.display(description="images")
    def payload_images(self, obj):
        images = (obj.payload or {}).get("images") if isinstance(obj.payload, dict) else None
        if not images:
            return "—"
        figures = []
        for index, image in enumerate(images, start=1):
            if not isinstance(image, dict) or not image.get("sha256"):
                continue
            figures.append(
                image_thumbnail(
                    sha256=image["sha256"],
                    file_name=image.get("fileName", ""),
                    size=image.get("size"),
                    fmt=image.get("format", ""),
                    width=image.get("width"),
                    height=image.get("height"),
                    position=index,
                )
            )
        return format_html("<div>{}</div>", format_html_join("", "{}", ((f,) for f in figures))) if figures else "—"

    @admin.display(description="payload")
    def payload_display(self, obj):
        return pretty_json(obj.payload, max_height=640)

    @admin.display(description="webhook deliveries")
    def webhook_links(self, obj):
        Delivery = _optional_model("webhooks", "WebhookDelivery")
        if Delivery is None:
            return "—"
        deliveries = list(Delivery.objects.filter(sync_job=obj).order_by("-received_at")[:10])
        if not deliveries:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            "{}",
            ((admin_change_link("webhooks", "webhookdelivery", d.pk, str(d)),) for d in deliveries),
        )

    @admin.display(description="Productsup batches")
    def productsup_links(self, obj):
        """The Productsup batches that carried this product after this job."""
        Batch = _optional_model("exports", "ProductsupBatch")
        if Batch is None or not obj.product_id:
            return "—"
        try:
            batches = list(
                Batch.objects.filter(items__product_id=obj.product_id, started_at__gte=obj.created_at).order_by(
                    "started_at"
                )[:5]
            )
        except Exception:  # noqa: BLE001 - another app's schema; the page must still render
            return "—"
        if not batches:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            "{}",
            ((admin_change_link("exports", "productsupbatch", b.pk, str(b)),) for b in batches),
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


def progress_bar(percent: int, status: str = ""):
    colour = BADGE_COLOURS.get(status, ("#1565c0", ""))[0]
    return format_html(
        '<div style="width:160px;height:10px;background:#e0e0e0;border-radius:5px;overflow:hidden;display:inline-block;'
        'vertical-align:middle"><div style="width:{}%;height:100%;background:{}"></div></div> <small>{}%</small>',
        percent,
        colour,
        percent,
    )


@admin.register(ResyncRun)
class ResyncRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "status_badge",
        "dry_run",
        "source",
        "requested_by",
        "progress",
        "total",
        "checked",
        "changed",
        "failed",
        "started_at",
        "finished_at",
    )
    list_filter = ("status", "dry_run", "source", ("started_at", DateFieldListFilter))
    list_select_related = ("requested_by",)
    show_full_result_count = False
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
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("start/", self.admin_site.admin_view(self.start_view), name=f"{prefix}_start"),
            path("<int:pk>/progress/", self.admin_site.admin_view(self.progress_view), name=f"{prefix}_progress"),
            *super().get_urls(),
        ]

    def start_view(self, request):
        """Start a full resync (the dashboard's button) and go back to the dashboard, which shows progress."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not can_operate(request.user):
            raise PermissionDenied
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
        return pretty_json(obj.report, max_height=640)
