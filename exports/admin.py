"""Productsup batches in the admin: list, filters, read-only detail; retry, discard, process, full export.

Every action and button calls Productsup or queues work, so each needs `exports.change_productsupbatch`
(the one permission model of `config.admin.permissions`); viewers only look.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse

from config.admin.actions import ObjectActionsAdminMixin, object_action
from config.admin.display import ADMIN_MEDIA, duration_display, status_badge
from config.admin.permissions import ReadOnlyAdminMixin
from connectors.http import RemoteError
from exports.models import ProductsupBatch, ProductsupBatchItem, ProductsupExportState
from exports.services import (
    ExportRefused,
    productsup_batch_discard,
    productsup_process_refresh,
    productsup_process_trigger,
)
from exports.tasks import productsup_batch_retry_task, productsup_full_export_task

RETRYABLE = (ProductsupBatch.Status.FAILED, ProductsupBatch.Status.DISCARDED)
DISCARDABLE = (ProductsupBatch.Status.UPLOADING, ProductsupBatch.Status.FAILED)


class ProductsupBatchItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ProductsupBatchItem
    fields = ("product", "dirty_at")
    readonly_fields = fields
    extra = 0
    max_num = 0  # records: no "add another" row
    can_delete = False
    show_change_link = False
    classes = ("collapse",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


@admin.register(ProductsupBatch)
class ProductsupBatchAdmin(ObjectActionsAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "batch_id",
        "kind",
        "status_badge",
        "triggered_by",
        "rows",
        "deleted_rows",
        "requests",
        "process_status",
        "started_at",
        "duration",
    )
    list_filter = ("status", "kind", "transport", "triggered_by", "process_status", "started_at")
    search_fields = ("=batch_id", "=process_id", "error")
    date_hierarchy = "started_at"
    list_select_related = ("retry_of",)
    readonly_fields = [f.name for f in ProductsupBatch._meta.fields]
    inlines = [ProductsupBatchItemInline]
    actions = ["retry_batches", "discard_batches", "trigger_process", "refresh_process"]
    changelist_actions = ["start_full_export"]
    change_actions = ["retry_batch", "discard_batch", "trigger_process_button", "refresh_process_button"]
    fieldsets = (
        (None, {"fields": ("batch_id", "kind", "transport", "status", "triggered_by", "attempt", "retry_of")}),
        ("Content", {"fields": ("rows", "deleted_rows", "skipped_rows", "invalid_rows", "requests", "bytes")}),
        ("Productsup", {"fields": ("commit_response", "remote_batch_ids", "process_id", "process_status")}),
        ("Timings", {"fields": ("started_at", "uploaded_at", "committed_at", "finished_at", "duration_ms")}),
        ("Error", {"fields": ("error", "error_details")}),
    )

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def offered_change_actions(self, request, obj):
        offered = []
        if obj.status in RETRYABLE:
            offered.append("retry_batch")
        if obj.status in DISCARDABLE:
            offered.append("discard_batch")
        offered.append("trigger_process_button")
        if obj.process_id:
            offered.append("refresh_process_button")
        return offered

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: ProductsupBatch):
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, obj: ProductsupBatch):
        return duration_display(obj.duration_ms)

    # --- what the actions and buttons do -----------------------------------------------------------

    def _retry(self, request, batches) -> None:
        retryable = [b for b in batches if b.status in RETRYABLE]
        # One delta retry covers every marked product: queue one per kind.
        by_kind = {b.kind: b for b in retryable}
        for batch in by_kind.values():
            transaction.on_commit(lambda pk=batch.pk: productsup_batch_retry_task.delay(pk))
        skipped = len(batches) - len(retryable)
        self.message_user(
            request,
            f"Queued {len(by_kind)} retr{'y' if len(by_kind) == 1 else 'ies'}."
            + (f" {skipped} batch(es) skipped: only failed or discarded batches are retried." if skipped else ""),
            messages.SUCCESS if by_kind else messages.WARNING,
        )

    def _discard(self, request, batches) -> None:
        done = 0
        for batch in batches:
            try:
                productsup_batch_discard(batch=batch)
                done += 1
            except (ExportRefused, RemoteError) as exc:
                self.message_user(request, f"{batch.batch_id}: {exc}", messages.WARNING)
        if done:
            self.message_user(request, f"Discarded {done} batch(es).", messages.SUCCESS)

    def _trigger(self, request, batch) -> None:
        try:
            pid = productsup_process_trigger(batch=batch)
        except RemoteError as exc:
            self.message_user(request, f"Productsup refused: {exc}", messages.ERROR)
            return
        self.message_user(request, f"Process {pid} started for batch {batch.batch_id}.", messages.SUCCESS)

    def _refresh(self, request, batches) -> None:
        for batch in batches:
            if not batch.process_id:
                continue
            try:
                status = productsup_process_refresh(batch=batch)
            except (ExportRefused, RemoteError) as exc:
                self.message_user(request, f"{batch.batch_id}: {exc}", messages.WARNING)
            else:
                self.message_user(request, f"{batch.batch_id}: process {status}.", messages.INFO)

    # --- list actions ------------------------------------------------------------------------------

    @admin.action(
        description="Retry selected failed/discarded batches (a new batch of the same kind)", permissions=["operate"]
    )
    def retry_batches(self, request, queryset):
        self._retry(request, list(queryset))

    @admin.action(description="Discard selected batches that did not commit", permissions=["operate"])
    def discard_batches(self, request, queryset):
        self._discard(request, list(queryset))

    @admin.action(description="Trigger a Productsup process (import) for the selected batch", permissions=["operate"])
    def trigger_process(self, request, queryset):
        self._trigger(request, queryset.order_by("-started_at").first())

    @admin.action(description="Refresh the process status of the selected batches", permissions=["operate"])
    def refresh_process(self, request, queryset):
        self._refresh(request, list(queryset.exclude(process_id="")))

    # --- buttons -----------------------------------------------------------------------------------

    @object_action(label="Start full export", description="Send every product to Productsup now")
    def start_full_export(self, request, queryset):
        transaction.on_commit(lambda: productsup_full_export_task.delay(triggered_by=ProductsupBatch.Trigger.ADMIN))
        self.message_user(request, "Full export queued.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:exports_productsupbatch_changelist"))

    @object_action(label="Retry", description="Send it again as a new batch of the same kind")
    def retry_batch(self, request, obj):
        self._retry(request, [obj])

    @object_action(label="Discard", description="Discard this batch at Productsup", css_class="ps-danger")
    def discard_batch(self, request, obj):
        self._discard(request, [obj])

    @object_action(label="Trigger process", description="Start a Productsup import process for this batch")
    def trigger_process_button(self, request, obj):
        self._trigger(request, obj)

    @object_action(label="Refresh process status", description="Ask Productsup how the process went")
    def refresh_process_button(self, request, obj):
        self._refresh(request, [obj])


@admin.register(ProductsupExportState)
class ProductsupExportStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    Media = ADMIN_MEDIA
    list_display = ("pk", "lease_holder", "lease_expires_at", "flush_due_at", "updated_at")
    readonly_fields = ("lease_holder", "lease_expires_at", "flush_due_at", "updated_at")
