"""Webhook deliveries in the back-office: every delivery (valid or not, oversized ones too), read-only, for audit."""

from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html

from config.admin.display import ADMIN_MEDIA, admin_change_link, error_first_line
from config.admin.permissions import ReadOnlyAdminMixin

from .models import WebhookDelivery

OUTCOMES = {
    200: ("ok", "accepted"),
    400: ("bad", "invalid"),
    401: ("bad", "bad signature"),
    409: ("warn", "conflict"),
    413: ("bad", "too large"),
    415: ("bad", "not JSON"),
    422: ("bad", "refused"),
    429: ("warn", "throttled"),
}


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    Media = ADMIN_MEDIA
    list_display = (
        "received_at",
        "reference",
        "outcome",
        "reason",
        "signature_valid",
        "size",
        "job_link",
    )
    list_filter = ("status_code", "signature_valid", ("received_at", admin.DateFieldListFilter))
    search_fields = ("reference", "=body_sha256", "=sync_job__sync_id", "=request_id")
    list_select_related = ("sync_job",)
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-id")
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    @admin.display(description="outcome", ordering="status_code")
    def outcome(self, obj):
        tone, label = OUTCOMES.get(obj.status_code, ("bad" if obj.status_code >= 400 else "ok", ""))
        return format_html('<span class="ps-badge ps-tone-{}">{} {}</span>', tone, obj.status_code, label)

    @admin.display(description="reason")
    def reason(self, obj):
        """Why it was refused: the error and its first detail (`price: must be ≥ 0`)."""
        if not obj.error:
            return ""
        text = obj.error
        details = obj.error_details or []
        if details and isinstance(details[0], dict):
            first = details[0]
            field = first.get("field") or ""
            text = f"{text}: {field + ': ' if field else ''}{first.get('message', '')}"
            if len(details) > 1:
                text += f" (+{len(details) - 1} more)"
        return error_first_line(text)

    @admin.display(description="size", ordering="body_size")
    def size(self, obj):
        return filesizeformat(obj.body_size)

    @admin.display(description="sync job", ordering="sync_job")
    def job_link(self, obj):
        if not obj.sync_job_id:
            return "—"
        return admin_change_link("syncjobs", "syncjob", obj.sync_job_id, obj.sync_job.sync_id)
