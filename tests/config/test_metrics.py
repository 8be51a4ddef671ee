"""GET /metrics (docs/operations.md, Metrics): the families and labels of the table, the token, and what moves them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from syncjobs.models import SyncJob
from tests.factories.catalog import product_payload
from tests.factories.webhooks import WEBHOOK_URL, sign, webhook_payload

pytestmark = pytest.mark.django_db

FAMILIES = {
    "products_sync_jobs": ("gauge", {"status"}),
    "products_sync_oldest_pending_seconds": ("gauge", set()),
    "products_sync_jobs_finished": ("counter", {"status", "source"}),
    "products_sync_remote_requests": ("counter", {"system", "outcome"}),
    "products_sync_webhook_deliveries": ("counter", {"result"}),
    "products_sync_job_duration_seconds": ("histogram", set()),
}


def scrape(client, **headers) -> dict[str, dict[tuple, float]]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def test_every_family_of_the_table_with_its_labels(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}
    for name, (kind, labels) in FAMILIES.items():
        assert name in families, name
        assert families[name].type == kind
        for sample in families[name].samples:
            assert set(sample.labels) - {"le"} == labels, (name, sample.labels)
    statuses = {s.labels["status"] for s in families["products_sync_jobs"].samples}
    assert statuses == {"pending", "processing", "completed", "failed", "partial"}
    outcomes = {(s.labels["system"], s.labels["outcome"]) for s in families["products_sync_remote_requests"].samples}
    assert outcomes == {(sys, o) for sys in ("prestashop", "productsup") for o in ("2xx", "4xx", "5xx", "error")}
    results = {s.labels["result"] for s in families["products_sync_webhook_deliveries"].samples}
    assert results == {"accepted", "bad_signature", "invalid", "too_large"}


def test_token_is_required_when_set(client, settings):
    settings.METRICS_TOKEN = "metrics-token-123"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-123").status_code == 200


def test_job_gauges_come_from_the_database(client):
    SyncJob.objects.create(reference="A", operation="create", source="api", status="pending")
    old = SyncJob.objects.create(reference="B", operation="create", source="api", status="pending")
    SyncJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    SyncJob.objects.create(reference="C", operation="update", source="webhook", status="failed")
    samples = scrape(client)
    assert value(samples, "products_sync_jobs", status="pending") == 2
    assert value(samples, "products_sync_jobs", status="failed") == 1
    assert value(samples, "products_sync_jobs", status="completed") == 0
    assert 600 <= value(samples, "products_sync_oldest_pending_seconds") < 700

    SyncJob.objects.filter(status="pending").update(status="completed")
    assert value(scrape(client), "products_sync_oldest_pending_seconds") == 0


def test_a_sync_counts_its_shop_calls_the_finished_job_and_its_duration(
    client, api_client, sandbox_shop, django_capture_on_commit_callbacks
):
    before = scrape(client)
    sandbox_shop.reset_calls()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post_json("/api/products/sync", product_payload(categories=...))
    assert response.status_code == 200, response.content
    after = scrape(client)

    grew = value(after, "products_sync_remote_requests_total", system="prestashop", outcome="2xx") - value(
        before, "products_sync_remote_requests_total", system="prestashop", outcome="2xx"
    )
    assert grew == len(sandbox_shop.calls) >= 5  # manufacturer, lookup, product, stock: each call counted
    key = {"status": "completed", "source": "api"}
    assert (
        value(after, "products_sync_jobs_finished_total", **key)
        == value(before, "products_sync_jobs_finished_total", **key) + 1
    )
    assert (
        value(after, "products_sync_job_duration_seconds_count")
        == value(before, "products_sync_job_duration_seconds_count") + 1
    )


def test_a_shop_that_fails_counts_5xx_and_a_dead_one_counts_error(client, api_client, sandbox_shop, settings):
    before = scrape(client)
    sandbox_shop.fail_next(4, 503)
    assert api_client.post_json("/api/products/sync", product_payload(categories=...)).status_code == 502
    settings.PRESTASHOP_URL = "http://127.0.0.1:9"  # nothing listens there (a new connector for the new URL)
    api_client.post_json("/api/products/sync", product_payload(reference="DEAD1", categories=...))
    after = scrape(client)
    for outcome, least in (("5xx", 4), ("error", 1)):
        grew = value(after, "products_sync_remote_requests_total", system="prestashop", outcome=outcome) - value(
            before, "products_sync_remote_requests_total", system="prestashop", outcome=outcome
        )
        assert grew >= least, outcome


def test_webhook_deliveries_by_result(client, settings):
    settings.GESMART_WEBHOOK_SECRET = "metrics-secret"
    before = scrape(client)
    body = json.dumps(webhook_payload(reference="WH1", categories=...)).encode()

    def post(data: bytes, signature: str):
        return client.post(WEBHOOK_URL, data=data, content_type="application/json", HTTP_X_GESMART_SIGNATURE=signature)

    assert post(body, sign(body, "metrics-secret")).status_code == 200
    assert post(body, "bad").status_code == 401
    bad = json.dumps({"operation": "update", "reference": "WH2", "price": -1}).encode()
    assert post(bad, sign(bad, "metrics-secret")).status_code == 400
    settings.API_MAX_BODY_MB = 1
    big = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    assert post(big, sign(big, "metrics-secret")).status_code == 413
    after = scrape(client)
    for result in ("accepted", "bad_signature", "invalid", "too_large"):
        assert (
            value(after, "products_sync_webhook_deliveries_total", result=result)
            == value(before, "products_sync_webhook_deliveries_total", result=result) + 1
        ), result
