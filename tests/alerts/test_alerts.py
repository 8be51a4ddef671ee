"""Alerts (docs/operations.md, Alerts): a failure spike against the sandbox shop fires once and resolves once, by email
(a real SMTP server, aiosmtpd) and by webhook (a local HTTP sink); state in the database so a second
evaluator or a restart never repeats an incident; the other rules; the admin."""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from alerts.models import Alert
from alerts.services import alerts_evaluate
from exports.models import ProductsupBatch
from syncjobs.models import SyncJob
from tests.factories.catalog import product_payload
from tests.httpsink import HttpSink

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd connects to its own port to check it started)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.ALERT_EMAILS = ["ops@example.com", "oncall@example.com"]
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def sink(settings):
    with HttpSink() as sink:
        settings.ALERT_WEBHOOK_URL = sink.url + "/hooks/alerts"
        yield sink


@pytest.fixture
def rules(settings):
    settings.ALERT_MIN_JOBS = 3
    settings.ALERT_FAILURE_RATE = 0.5
    settings.ALERT_WINDOW_MINUTES = 15
    settings.SYNC_MAX_ATTEMPTS = 1  # a failed sync is final at once (no background retries in this test)
    settings.PRODUCTSUP_ENABLED = False


def webhook_bodies(sink, alert: str) -> list[dict]:
    bodies = [json.loads(r.body) for r in sink.received]
    return [b for b in bodies if b["alert"] == alert]


def emails(inbox, alert: str) -> list:
    return [(to, m) for to, m in inbox.messages if f": {alert} (" in m["Subject"]]


def test_a_failure_spike_fires_once_and_resolves_once(api_client, sandbox_shop, smtp, sink, rules):
    sandbox_shop.down = True
    for n in range(3):
        response = api_client.post_json("/api/products/sync", product_payload(reference=f"SPIKE{n}", categories=...))
        assert response.status_code == 502
    assert SyncJob.objects.filter(status="failed", next_retry_at__isnull=True).count() == 3

    firing = alerts_evaluate()
    assert "failure_rate" in firing and "prestashop_unreachable" in firing
    alerts_evaluate()  # still failing: nothing new is sent
    alerts_evaluate()

    hooks = webhook_bodies(sink, "failure_rate")
    assert [h["state"] for h in hooks] == ["firing"]
    assert hooks[0]["severity"] == "critical" and hooks[0]["value"] == 1.0
    assert "3 of 3 sync jobs" in hooks[0]["message"]
    assert set(hooks[0]) >= {"alert", "state", "severity", "message", "value", "since"}
    assert sink.received[0].path == "/hooks/alerts"
    mails = emails(smtp, "failure_rate")
    assert len(mails) == 1
    assert mails[0][0] == ["ops@example.com", "oncall@example.com"]
    assert mails[0][1]["Subject"].startswith("[Products Sync] FIRING: failure_rate")
    assert [h["state"] for h in webhook_bodies(sink, "prestashop_unreachable")] == ["firing"]

    # Recovery: the shop answers again and enough jobs succeed to bring the rate under the threshold.
    sandbox_shop.down = False
    for n in range(4):
        response = api_client.post_json("/api/products/sync", product_payload(reference=f"OK{n}", categories=...))
        assert response.status_code == 200
    assert alerts_evaluate() == []
    alerts_evaluate()

    assert [h["state"] for h in webhook_bodies(sink, "failure_rate")] == ["firing", "resolved"]
    assert [h["state"] for h in webhook_bodies(sink, "prestashop_unreachable")] == ["firing", "resolved"]
    mails = emails(smtp, "failure_rate")
    assert [m["Subject"].split(":")[0] for _, m in mails] == ["[Products Sync] FIRING", "[Products Sync] RESOLVED"]
    assert "3 of 7 sync jobs" not in mails[0][1].get_payload()
    alert = Alert.objects.get(rule="failure_rate")
    assert alert.state == "resolved" and alert.firing_sent_at and alert.resolved_sent_at


def test_a_second_evaluator_or_a_restart_does_not_repeat_an_incident(smtp, sink, rules, settings):
    settings.ALERT_PRESTASHOP_PROBE = False
    settings.ALERT_PENDING_SECONDS = 60
    job = SyncJob.objects.create(reference="STUCK", operation="create", source="webhook", status="pending")
    SyncJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    for _ in range(3):  # three beats (or two instances and a restart): state is in the database
        assert alerts_evaluate() == ["pending_age"]
    assert Alert.objects.filter(rule="pending_age").count() == 1
    assert [h["state"] for h in webhook_bodies(sink, "pending_age")] == ["firing"]
    assert len(emails(smtp, "pending_age")) == 1
    assert webhook_bodies(sink, "pending_age")[0]["value"] >= 300

    SyncJob.objects.filter(pk=job.pk).update(status="completed", completed_at=timezone.now())
    assert alerts_evaluate() == []
    assert alerts_evaluate() == []
    assert [h["state"] for h in webhook_bodies(sink, "pending_age")] == ["firing", "resolved"]

    # A new incident later is a new row, told again.
    job = SyncJob.objects.create(reference="STUCK2", operation="create", source="webhook", status="pending")
    SyncJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    alerts_evaluate()
    assert Alert.objects.filter(rule="pending_age").count() == 2
    assert [h["state"] for h in webhook_bodies(sink, "pending_age")] == ["firing", "resolved", "firing"]


def test_a_webhook_that_fails_is_tried_again_and_email_is_not_repeated(smtp, sink, rules, settings):
    settings.ALERT_PRESTASHOP_PROBE = False
    settings.ALERT_PENDING_SECONDS = 60
    job = SyncJob.objects.create(reference="STUCK", operation="create", source="webhook", status="pending")
    SyncJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    sink.status = 500
    alerts_evaluate()
    alert = Alert.objects.get(rule="pending_age")
    assert alert.firing_sent_at is None and "webhook" in alert.delivery_error
    sink.status = 200
    alerts_evaluate()
    alert.refresh_from_db()
    assert alert.firing_sent_at is not None and alert.delivery_error == ""
    assert len(emails(smtp, "pending_age")) == 1  # the email went out the first time, and only then
    assert [h["state"] for h in webhook_bodies(sink, "pending_age")] == ["firing", "firing"]  # 500, then 200


def test_productsup_batches_failing(sink, rules, settings):
    settings.ALERT_PRESTASHOP_PROBE = False
    settings.PRODUCTSUP_ENABLED = True
    settings.ALERT_PRODUCTSUP_FAILURES = 2
    for n, status in enumerate(["committed", "failed", "discarded"]):
        ProductsupBatch.objects.create(
            batch_id=f"{n:032d}", kind="delta", transport="platform", status=status, error="HTTP 500"
        )
    assert alerts_evaluate() == ["productsup_failing"]
    ProductsupBatch.objects.create(batch_id="9" * 32, kind="delta", transport="platform", status="committed")
    assert alerts_evaluate() == []
    assert [h["state"] for h in webhook_bodies(sink, "productsup_failing")] == ["firing", "resolved"]


def test_admin_lists_alerts_read_only_and_the_dashboard_shows_them(admin_client, rules, settings):
    settings.ALERT_PRESTASHOP_PROBE = False
    now = timezone.now()
    Alert.objects.create(
        rule="pending_age", severity="warning", message="Oldest pending 900 s", value=900, since=now, last_seen_at=now
    )
    Alert.objects.create(
        rule="failure_rate",
        severity="critical",
        message="7 of 10 failed",
        value=0.7,
        since=now - timedelta(hours=1),
        last_seen_at=now,
        resolved_at=now,
    )
    listing = admin_client.get("/admin/alerts/alert/")
    assert listing.status_code == 200
    assert b"Oldest pending 900 s" in listing.content and b"7 of 10 failed" in listing.content
    assert admin_client.get("/admin/alerts/alert/add/").status_code == 403
    dashboard = admin_client.get("/admin/")
    assert b'id="alerts-dashboard"' in dashboard.content
    assert (
        b"1 firing" in dashboard.content
        and b"alert-firing" in dashboard.content
        and b"alert-resolved" in dashboard.content
    )
