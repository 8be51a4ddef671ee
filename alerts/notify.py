"""The two ways staff hear of an alert: an email through Django's mail settings (`EMAIL_URL`) and a JSON
POST to `ALERT_WEBHOOK_URL`. Both raise when the message did not go out (the caller retries later)."""

from __future__ import annotations

import json

import requests
from django.conf import settings
from django.core.mail import EmailMessage

WEBHOOK_TIMEOUT = (5.0, 10.0)


def alert_email_send(body: dict, *, recipients: list[str]) -> None:
    subject = f"[Products Sync] {body['state'].upper()}: {body['alert']} ({body['severity']})"
    lines = [
        body["message"],
        "",
        f"alert:    {body['alert']}",
        f"state:    {body['state']}",
        f"severity: {body['severity']}",
        f"value:    {body['value']}",
        f"since:    {body['since']}",
    ]
    if body.get("resolved_at"):
        lines.append(f"resolved: {body['resolved_at']}")
    EmailMessage(
        subject=subject, body="\n".join(lines) + "\n", from_email=settings.ALERT_EMAIL_FROM, to=recipients
    ).send(fail_silently=False)


def alert_webhook_send(body: dict, *, url: str) -> None:
    response = requests.post(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "products-sync-alerts/1.0"},
        timeout=WEBHOOK_TIMEOUT,
        allow_redirects=False,
    )
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"alert webhook answered {response.status_code}")
