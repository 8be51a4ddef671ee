"""Webhook deliveries in the back-office: read-only, for audit."""

from __future__ import annotations

from django.contrib import admin

from config.admin_mixins import ReadOnlyAdminMixin

from .models import WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "received_at",
        "reference",
        "operation",
        "status_code",
        "signature_valid",
        "source_ip",
        "sync_job",
    )
    list_filter = ("signature_valid", "status_code", ("received_at", admin.DateFieldListFilter))
    search_fields = ("reference", "=body_sha256", "=sync_job__sync_id", "=request_id")
    list_select_related = ("sync_job",)
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-id")
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]
