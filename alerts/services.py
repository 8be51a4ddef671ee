"""Evaluating the rules and telling staff, once per incident and once when it clears (docs/operations.md, Alerts).

`alerts_evaluate()` runs every minute (beat). For each rule it opens an incident when the condition
starts to hold, keeps it up to date while it holds, and resolves it when it stops. An incident is a row
(`Alert`) and at most one per rule is open — the database's partial unique constraint decides when two
evaluators race, so neither a second beat nor a restart fires it again. Notifications are sent after
the rows are committed, each row claimed with `SELECT … FOR UPDATE SKIP LOCKED`; every channel of every
state is marked when it went out, so a channel that failed is tried again next minute and one that
worked is never repeated.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import Alert
from .notify import alert_email_send, alert_webhook_send
from .rules import RULES, Finding

logger = logging.getLogger(__name__)


def _apply(rule: str, finding: Finding, now: datetime) -> None:
    with transaction.atomic():
        open_alert = Alert.objects.select_for_update().filter(rule=rule, resolved_at__isnull=True).first()
        if finding.active and open_alert is None:
            try:
                with transaction.atomic():
                    Alert.objects.create(
                        rule=rule,
                        severity=finding.severity,
                        message=finding.message,
                        value=finding.value,
                        since=now,
                        last_seen_at=now,
                    )
                logger.warning("Alert %s firing: %s", rule, finding.message)
            except IntegrityError:
                logger.info("Alert %s was opened by another evaluator", rule)
        elif finding.active:
            open_alert.value = finding.value
            open_alert.last_seen_at = now
            open_alert.save(update_fields=["value", "last_seen_at"])
        elif open_alert is not None:
            open_alert.resolved_at = now
            open_alert.resolved_value = finding.value
            open_alert.save(update_fields=["resolved_at", "resolved_value"])
            logger.warning("Alert %s resolved: %s", rule, finding.message)


def alerts_evaluate() -> list[str]:
    """Evaluate every rule, record the changes, send what is due. Returns the rules firing now."""
    now = timezone.now()
    for rule, check in RULES.items():
        try:
            finding = check()
        except Exception:
            logger.exception("Alert rule %s could not be evaluated", rule)
            continue
        _apply(rule, finding, now)
    alerts_notify()
    return list(Alert.objects.filter(resolved_at__isnull=True).values_list("rule", flat=True))


def _channels() -> list[str]:
    channels = []
    if settings.ALERT_EMAILS:
        channels.append("email")
    if settings.ALERT_WEBHOOK_URL:
        channels.append("webhook")
    return channels


def payload(alert: Alert, state: str) -> dict:
    """The webhook body (and the email's facts): `alert`, `state`, `severity`, `message`, `value`, `since`;
    `text` too, so chat incoming webhooks (Slack, Mattermost, Teams) show it as it is."""
    value = alert.value if state == "firing" else alert.resolved_value
    return {
        "alert": alert.rule,
        "state": state,
        "severity": alert.severity,
        "message": alert.message,
        "value": value,
        "since": alert.since.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "text": f"[{state.upper()}] {alert.get_rule_display()}: {alert.message}",
    }


def alerts_notify() -> int:
    """Send the firing and resolved messages not sent yet. Returns how many (alert, state) went out."""
    channels = _channels()
    sent = 0
    due = Alert.objects.filter(
        Q(firing_sent_at__isnull=True) | Q(resolved_at__isnull=False, resolved_sent_at__isnull=True)
    )
    for alert_id in list(due.values_list("id", flat=True)):
        with transaction.atomic():
            alert = Alert.objects.select_for_update(skip_locked=True).filter(pk=alert_id).first()
            if alert is None:
                continue  # another evaluator is sending it
            for state in ("firing", "resolved"):
                column = f"{state}_sent_at"
                if getattr(alert, column) is not None or (state == "resolved" and alert.resolved_at is None):
                    continue
                if state == "resolved" and alert.firing_sent_at is None:
                    break  # firing first
                if _send(alert, state, channels):
                    setattr(alert, column, timezone.now())
                    sent += 1
                else:
                    break
            alert.save(update_fields=["firing_sent_at", "resolved_sent_at", "delivery_error", "sent_channels"])
    return sent


def _send(alert: Alert, state: str, channels: list[str]) -> bool:
    """Every channel not yet done for this state; True when all are done."""
    body = payload(alert, state)
    errors = []
    for channel in channels:
        key = f"{state}:{channel}"
        if key in alert.sent_channels:
            continue
        try:
            if channel == "email":
                alert_email_send(body, recipients=settings.ALERT_EMAILS)
            else:
                alert_webhook_send(body, url=settings.ALERT_WEBHOOK_URL)
        except Exception as exc:  # noqa: BLE001 - recorded, and tried again next minute
            logger.warning("Alert %s %s via %s failed: %s", alert.rule, state, channel, exc)
            errors.append(f"{channel}: {type(exc).__name__}: {exc}"[:500])
            continue
        alert.sent_channels = {**alert.sent_channels, key: timezone.now().isoformat()}
        logger.info("Alert %s %s sent via %s", alert.rule, state, channel)
    alert.delivery_error = "; ".join(errors)
    return not errors


def alerts_recent(*, limit: int = 10) -> list[Alert]:
    """Open incidents first, then the latest resolved ones (the admin dashboard)."""
    open_alerts = list(Alert.objects.filter(resolved_at__isnull=True).order_by("-since"))
    resolved = list(
        Alert.objects.filter(resolved_at__isnull=False).order_by("-resolved_at")[: max(0, limit - len(open_alerts))]
    )
    return open_alerts + resolved
