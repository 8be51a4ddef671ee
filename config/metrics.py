"""Prometheus metrics (docs/operations.md, Metrics): `GET /metrics`, the families and labels of the table.

- Counters and the histogram use prometheus_client's multiprocess mode: each gunicorn and worker process
  writes its own small file in `PROMETHEUS_MULTIPROC_DIR` (set from settings; one directory per machine,
  shared by every process of the service there), and `/metrics` adds them all up. So a scrape of any web
  process shows what every web and worker process on the machine did.
- The job gauges are read from the database at scrape time: they are right with any number of workers on
  any number of machines.

Increments come from three places: every outbound HTTP call (the connectors' session, connectors/http.py),
a job reaching a final status (the job runner), and the webhook's answer (`WebhookMetricsMiddleware`).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily

from syncjobs.models import SyncJob


def _metrics_dir() -> str:
    """Create the directory settings name (before the first metric: settings write nothing). On a read-only
    code directory (containers) every process falls back to the same one in the machine's temporary dir."""
    path = Path(settings.PROMETHEUS_MULTIPROC_DIR)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        path = Path(tempfile.gettempdir()) / "products-sync-metrics"
        path.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return str(path)


METRICS_DIR = _metrics_dir()

if values.ValueClass is values.MutexValue and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # prometheus_client was imported before the settings named the directory: switch now, before any metric.
    values.ValueClass = values.MultiProcessValue()

JOB_STATUSES = ("pending", "processing", "completed", "failed", "partial")
FINAL_STATUSES = ("completed", "failed", "partial")
SOURCES = ("api", "batch", "webhook", "schedule", "admin", "command", "import")
SYSTEMS = ("prestashop", "productsup")
OUTCOMES = ("2xx", "4xx", "5xx", "error")
WEBHOOK_RESULTS = ("accepted", "bad_signature", "invalid", "too_large")
WEBHOOK_PATH = "/api/webhooks/gesmart/products"

JOBS_FINISHED = Counter(
    "products_sync_jobs_finished", "Sync jobs that reached a final status", ["status", "source"], registry=None
)
REMOTE_REQUESTS = Counter(
    "products_sync_remote_requests", "HTTP requests to other systems", ["system", "outcome"], registry=None
)
WEBHOOK_DELIVERIES = Counter(
    "products_sync_webhook_deliveries", "Webhook deliveries by result", ["result"], registry=None
)
JOB_DURATION = Histogram(
    "products_sync_job_duration_seconds",
    "Sync job duration, from pickup to final status",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600),
    registry=None,
)


def _zero_series() -> None:
    """Every label set exists from the start (at 0), so `rate()` and `increase()` see the first event."""
    for system in SYSTEMS:
        for outcome in OUTCOMES:
            REMOTE_REQUESTS.labels(system=system, outcome=outcome)
    for result in WEBHOOK_RESULTS:
        WEBHOOK_DELIVERIES.labels(result=result)
    for status in FINAL_STATUSES:
        for source in SOURCES:
            JOBS_FINISHED.labels(status=status, source=source)


def remote_request(system: str, outcome: str) -> None:
    """The connectors' observer (connectors/http.py): one call to `system` ended with `outcome`."""
    REMOTE_REQUESTS.labels(system=system, outcome=outcome).inc()


def job_finished(*, status: str, source: str, seconds: float | None) -> None:
    JOBS_FINISHED.labels(status=status, source=source).inc()
    if seconds is not None:
        JOB_DURATION.observe(max(0.0, seconds))


def webhook_result(status_code: int) -> str | None:
    if status_code == 200:
        return "accepted"
    if status_code == 401:
        return "bad_signature"
    if status_code == 413:
        return "too_large"
    if status_code in (400, 415, 422):
        return "invalid"
    return None  # throttled (429) or a server error: not a delivery the service judged


class WebhookMetricsMiddleware:
    """Counts webhook deliveries by the answer they got (a 413 is answered before the view runs)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path == WEBHOOK_PATH and request.method == "POST":
            result = webhook_result(response.status_code)
            if result is not None:
                WEBHOOK_DELIVERIES.labels(result=result).inc()
        return response


class JobsCollector:
    """`products_sync_jobs` and `products_sync_oldest_pending_seconds`, from the database at scrape time."""

    def collect(self):
        jobs = GaugeMetricFamily("products_sync_jobs", "Sync jobs by current status", labels=["status"])
        counts = dict(SyncJob.objects.order_by().values_list("status").annotate(n=Count("id")))
        for status in JOB_STATUSES:
            jobs.add_metric([status], counts.get(status, 0))
        yield jobs
        oldest = SyncJob.objects.filter(status="pending").aggregate(oldest=Min("created_at"))["oldest"]
        age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "products_sync_oldest_pending_seconds", "Age of the oldest pending sync job", value=max(0.0, age)
        )


def metrics_text() -> bytes:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(JobsCollector())
    return generate_latest(registry)


def metrics_view(request):
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if not secrets.compare_digest(given.encode(), f"Bearer {token}".encode()):
            response = JsonResponse(
                {"success": False, "error": "Authentication required", "details": []},
                status=401,
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)


_zero_series()
