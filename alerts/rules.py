"""The alert rules (docs/operations.md, Alerts): each looks at the database (or, for the shop, asks it) and says whether
its condition holds now, with the measured value and a sentence for a person."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from connectors.http import RemoteError
from connectors.prestashop.client import PrestaShopClient
from exports.models import ProductsupBatch
from syncjobs.models import SyncJob, SyncStatus

from .models import Alert

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    active: bool
    value: float
    message: str
    severity: str = Alert.Severity.WARNING


def failure_rate() -> Finding:
    """Share of the jobs that reached a final status in the window that failed (given enough of them)."""
    window = settings.ALERT_WINDOW_MINUTES
    finished = SyncJob.objects.filter(
        completed_at__gte=timezone.now() - timedelta(minutes=window),
        status__in=[SyncStatus.COMPLETED, SyncStatus.PARTIAL, SyncStatus.FAILED],
    )
    total = finished.count()
    failed = finished.filter(status=SyncStatus.FAILED).count() if total else 0
    rate = failed / total if total else 0.0
    active = total >= settings.ALERT_MIN_JOBS and rate >= settings.ALERT_FAILURE_RATE
    return Finding(
        active=active,
        value=round(rate, 4),
        message=f"{failed} of {total} sync jobs finished in the last {window} min failed ({rate:.0%}; "
        f"alert at {settings.ALERT_FAILURE_RATE:.0%} of at least {settings.ALERT_MIN_JOBS} jobs)",
        severity=Alert.Severity.CRITICAL,
    )


def pending_age() -> Finding:
    oldest = SyncJob.objects.filter(status=SyncStatus.PENDING).aggregate(oldest=Min("created_at"))["oldest"]
    age = max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0
    return Finding(
        active=age > settings.ALERT_PENDING_SECONDS,
        value=round(age, 1),
        message=f"The oldest pending sync job has waited {age:.0f} s (alert above {settings.ALERT_PENDING_SECONDS} s): "
        "is a worker running?",
    )


def prestashop_unreachable() -> Finding:
    """One cheap Webservice call (the shop's languages, one row): no answer, 5xx or refused credentials."""
    if not settings.ALERT_PRESTASHOP_PROBE:
        return Finding(active=False, value=0, message="probe disabled")
    client = PrestaShopClient(
        settings.PRESTASHOP_URL,
        settings.PRESTASHOP_API_KEY,
        timeout=settings.ALERT_PROBE_TIMEOUT,
        connect_timeout=min(5.0, settings.ALERT_PROBE_TIMEOUT),
        max_retries=1,
    )
    try:
        client.list_resource("languages", {"display": "[id]", "limit": "1"})
    except RemoteError as exc:
        return Finding(
            active=True,
            value=1,
            message=f"PrestaShop at {settings.PRESTASHOP_URL} does not answer the Webservice: {exc.message}",
            severity=Alert.Severity.CRITICAL,
        )
    finally:
        client.session.close()
    return Finding(active=False, value=0, message=f"PrestaShop at {settings.PRESTASHOP_URL} answers")


def productsup_failing() -> Finding:
    """The most recent finished Productsup batches failed, ALERT_PRODUCTSUP_FAILURES in a row."""
    if not settings.PRODUCTSUP_ENABLED:
        return Finding(active=False, value=0, message="Productsup disabled")
    needed = max(1, settings.ALERT_PRODUCTSUP_FAILURES)
    recent = list(
        ProductsupBatch.objects.exclude(status=ProductsupBatch.Status.UPLOADING)
        .order_by("-id")
        .values_list("status", "error")[:needed]
    )
    failed = [e for s, e in recent if s in (ProductsupBatch.Status.FAILED, ProductsupBatch.Status.DISCARDED)]
    streak = len(failed) if len(failed) == len(recent) else 0
    last_error = failed[0] if failed else ""
    return Finding(
        active=streak >= needed,
        value=streak,
        message=f"The last {streak} Productsup batches failed; last error: {last_error[:300]}"
        if streak
        else "Productsup batches commit",
    )


RULES: dict[str, Callable[[], Finding]] = {
    Alert.Rule.FAILURE_RATE: failure_rate,
    Alert.Rule.PENDING_AGE: pending_age,
    Alert.Rule.PRESTASHOP_UNREACHABLE: prestashop_unreachable,
    Alert.Rule.PRODUCTSUP_FAILING: productsup_failing,
}
