"""Productsup batches in the admin: list, filters, read-only detail; retry, discard, process, full export."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from connectors.http import RemoteError
from exports.models import ProductsupBatch, ProductsupBatchItem, ProductsupExportState


def _enqueue_full_export() -> None:
    from exports.tasks import productsup_full_export_task

    transaction.on_commit(lambda: productsup_full_export_task.delay(triggered_by=ProductsupBatch.Trigger.ADMIN))


class ProductsupBatchItemInline(admin.TabularInline):
    model = ProductsupBatchItem
    fields = ("product", "dirty_at")
    readonly_fields = fields
    raw_id_fields = ("product",)
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    classes = ("collapse",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


@admin.register(ProductsupBatch)
class ProductsupBatchAdmin(admin.ModelAdmin):
    list_display = (
        "batch_id",
        "kind",
        "transport",
        "status_badge",
        "triggered_by",
        "rows",
        "deleted_rows",
        "requests",
        "bytes",
        "process_status",
        "started_at",
        "duration_ms",
    )
    list_filter = ("status", "kind", "transport", "triggered_by", "process_status", "started_at")
    search_fields = ("=batch_id", "=process_id", "error")
    date_hierarchy = "started_at"
    list_select_related = ("retry_of",)
    readonly_fields = [f.name for f in ProductsupBatch._meta.fields]
    inlines = [ProductsupBatchItemInline]
    actions = ["retry_batches", "discard_batches", "trigger_process", "refresh_process", "start_full_export"]
    change_list_template = "admin/exports/productsupbatch/change_list.html"
    fieldsets = (
        (None, {"fields": ("batch_id", "kind", "transport", "status", "triggered_by", "attempt", "retry_of")}),
        ("Content", {"fields": ("rows", "deleted_rows", "skipped_rows", "invalid_rows", "requests", "bytes")}),
        ("Productsup", {"fields": ("commit_response", "remote_batch_ids", "process_id", "process_status")}),
        ("Timings", {"fields": ("started_at", "uploaded_at", "committed_at", "finished_at", "duration_ms")}),
        ("Error", {"fields": ("error", "error_details")}),
    )

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: ProductsupBatch):
        colour = {"committed": "#2e7d32", "partial": "#f9a825", "failed": "#c62828", "discarded": "#6d4c41"}.get(
            obj.status, "#1565c0"
        )
        return format_html('<b style="color:{}">{}</b>', colour, obj.get_status_display())

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    # --- actions -------------------------------------------------------------------------------
    def _staff_can_act(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    @admin.action(description="Retry selected failed/discarded batches (a new batch of the same kind)")
    def retry_batches(self, request, queryset):
        from exports.tasks import productsup_batch_retry_task

        retryable = list(queryset.filter(status__in=[ProductsupBatch.Status.FAILED, ProductsupBatch.Status.DISCARDED]))
        # One delta retry covers every marked product: queue one per kind.
        by_kind = {b.kind: b for b in retryable}
        for batch in by_kind.values():
            transaction.on_commit(lambda pk=batch.pk: productsup_batch_retry_task.delay(pk))
        skipped = queryset.count() - len(retryable)
        self.message_user(
            request,
            f"Queued {len(by_kind)} retr{'y' if len(by_kind) == 1 else 'ies'}."
            + (f" {skipped} batch(es) skipped: only failed or discarded batches are retried." if skipped else ""),
            messages.SUCCESS if by_kind else messages.WARNING,
        )

    @admin.action(description="Discard selected batches that did not commit")
    def discard_batches(self, request, queryset):
        from exports.services import ExportRefused, productsup_batch_discard

        done = 0
        for batch in queryset:
            try:
                productsup_batch_discard(batch=batch)
                done += 1
            except (ExportRefused, RemoteError) as exc:
                self.message_user(request, f"{batch.batch_id}: {exc}", messages.WARNING)
        if done:
            self.message_user(request, f"Discarded {done} batch(es).", messages.SUCCESS)

    @admin.action(description="Trigger a Productsup process (import) for the selected batch")
    def trigger_process(self, request, queryset):
        from exports.services import productsup_process_trigger

        batch = queryset.order_by("-started_at").first()
        try:
            pid = productsup_process_trigger(batch=batch)
        except RemoteError as exc:
            self.message_user(request, f"Productsup refused: {exc}", messages.ERROR)
            return
        self.message_user(request, f"Process {pid} started for batch {batch.batch_id}.", messages.SUCCESS)

    @admin.action(description="Refresh the process status of the selected batches")
    def refresh_process(self, request, queryset):
        from exports.services import productsup_process_refresh

        for batch in queryset.exclude(process_id=""):
            try:
                productsup_process_refresh(batch=batch)
            except RemoteError as exc:
                self.message_user(request, f"{batch.batch_id}: {exc}", messages.WARNING)

    @admin.action(description="Start a full export now (every product)")
    def start_full_export(self, request, queryset):
        _enqueue_full_export()
        self.message_user(request, "Full export queued.", messages.SUCCESS)

    # "Start full export" also as a button on the list (an action needs a selected row).
    def get_urls(self):
        urls = super().get_urls()
        custom = [
            path(
                "full-export/",
                self.admin_site.admin_view(self.full_export_view),
                name="exports_productsupbatch_full_export",
            )
        ]
        return custom + urls

    def full_export_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        _enqueue_full_export()
        self.message_user(request, "Full export queued.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:exports_productsupbatch_changelist"))


@admin.register(ProductsupExportState)
class ProductsupExportStateAdmin(admin.ModelAdmin):
    list_display = ("pk", "lease_holder", "lease_expires_at", "flush_due_at", "updated_at")
    readonly_fields = ("lease_holder", "lease_expires_at", "flush_due_at", "updated_at")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
