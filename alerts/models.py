"""Alerts (docs/operations.md, Alerts): one row per incident of a rule, from the moment it fires until it clears.

At most one open incident per rule (a partial unique constraint), so two beat instances, or a restart,
can never fire the same incident twice: the row is the claim. The notification columns say which of the
two messages (`firing`, `resolved`) went out, so each is sent once even if sending had to wait.
"""

from __future__ import annotations

from django.db import models


class Alert(models.Model):
    class Rule(models.TextChoices):
        FAILURE_RATE = "failure_rate", "Sync failure rate"
        PENDING_AGE = "pending_age", "Oldest pending job"
        PRESTASHOP_UNREACHABLE = "prestashop_unreachable", "PrestaShop unreachable"
        PRODUCTSUP_FAILING = "productsup_failing", "Productsup batches failing"

    class Severity(models.TextChoices):
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    rule = models.CharField(max_length=32, choices=Rule.choices)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    message = models.TextField()
    value = models.FloatField(help_text="The rule's measure when it fired (then its latest while it stays firing)")
    since = models.DateTimeField(help_text="When the incident started (fired)")
    last_seen_at = models.DateTimeField(help_text="Last evaluation that found it still firing")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_value = models.FloatField(null=True, blank=True)
    firing_sent_at = models.DateTimeField(null=True, blank=True)
    resolved_sent_at = models.DateTimeField(null=True, blank=True)
    sent_channels = models.JSONField(default=dict, blank=True, help_text='"firing:email" etc. → when it went out')
    delivery_error = models.TextField(blank=True, default="", help_text="Why the last notification failed")

    class Meta:
        ordering = ["-since", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule"], condition=models.Q(resolved_at__isnull=True), name="alert_one_open_incident_per_rule"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} ({self.state})"

    @property
    def state(self) -> str:
        return "firing" if self.resolved_at is None else "resolved"
