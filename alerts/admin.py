"""Alerts in the back-office: every incident, read-only for everyone (the evaluator writes them)."""

from __future__ import annotations

from django.contrib import admin

from config.admin.display import ADMIN_MEDIA
from config.admin.permissions import ReadOnlyAdminMixin

from .models import Alert


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    Media = ADMIN_MEDIA
    list_display = ("rule", "state_display", "severity", "message", "value", "since", "resolved_at")
    list_filter = ("rule", "severity", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("message",)
    date_hierarchy = "since"
    fields = (
        "rule",
        "severity",
        "message",
        "value",
        "since",
        "last_seen_at",
        "resolved_at",
        "resolved_value",
        "firing_sent_at",
        "resolved_sent_at",
        "sent_channels",
        "delivery_error",
    )

    @admin.display(description="state")
    def state_display(self, obj: Alert) -> str:
        return obj.state
