"""The dashboard's alerts card: open incidents and the latest resolved ones."""

from __future__ import annotations

from django import template
from django.urls import reverse

from alerts.services import alerts_recent

register = template.Library()


@register.inclusion_tag("admin/alerts/dashboard.html", takes_context=True)
def alerts_dashboard(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("alerts.view_alert"):
        return {"show": False}
    alerts = alerts_recent(limit=8)
    return {
        "show": True,
        "alerts": [{"alert": a, "url": reverse("admin:alerts_alert_change", args=[a.pk])} for a in alerts],
        "firing": sum(1 for a in alerts if a.resolved_at is None),
        "list_url": reverse("admin:alerts_alert_changelist"),
    }
