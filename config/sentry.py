"""Error reports to Sentry when `SENTRY_DSN` is set (off otherwise: nothing is initialised)."""

from __future__ import annotations

import logging

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration


def sentry_init(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> bool:
    """Start the SDK with the Django and Celery integrations. Returns whether it was started."""
    if not dsn:
        return False
    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        integrations=[
            DjangoIntegration(),
            CeleryIntegration(monitor_beat_tasks=False),
            # Error lines become events; lower lines only breadcrumbs (the JSON logs stay the full record).
            LoggingIntegration(event_level=logging.ERROR),
        ],
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,  # no user data, cookies or auth headers leave the service
        max_request_body_size="never",  # product bodies carry images, webhooks a signature
    )
    return True
