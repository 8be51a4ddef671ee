"""A real Prometheus (Debian's `prometheus`) scrapes a live server of the service, and its query API shows
`products_sync_remote_requests_total` growing after a sync that a real worker process ran: the counter adds
up what other processes did (prometheus_client's multiprocess directory), and the scrape config of the
README (bearer token) works."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from syncjobs.models import SyncJob, SyncStatus
from tests.e2e.realservices import (  # noqa: F401 - fixtures, registered as real_broker, realservices…
    WEBHOOK_SECRET,
    fixture_real_broker,
    fixture_realservices,
    fixture_sandbox,
    fixture_workers,
    wait_for,
)
from tests.factories.webhooks import WEBHOOK_URL, sign, webhook_payload

pytestmark = [pytest.mark.realservices, pytest.mark.django_db(transaction=True)]
PROMETHEUS = shutil.which("prometheus")
TOKEN = "prometheus-scrape-token-0123"
QUERY = 'sum(products_sync_remote_requests_total{system="prestashop"})'


def free_port(first: int = 18300, last: int = 18399) -> int:
    for port in range(first, last + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in the ops range")


@pytest.fixture
def prometheus(live_server, settings):
    if PROMETHEUS is None:
        pytest.skip("needs Debian's prometheus package (.ci/run installs it)")
    settings.METRICS_TOKEN = TOKEN
    target = live_server.url.removeprefix("http://")
    with tempfile.TemporaryDirectory(prefix="products-sync-prometheus-") as tmp:
        config = Path(tmp) / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            "  - job_name: products-sync\n"
            "    metrics_path: /metrics\n"
            f"    authorization:\n      type: Bearer\n      credentials: {TOKEN}\n"
            f"    static_configs:\n      - targets: ['{target}']\n"
        )
        port = free_port()
        process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp}/data",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(Path(tmp) / "prometheus.log").open("wb"),
        )
        api = f"http://127.0.0.1:{port}/api/v1/query"

        def query(expr: str) -> float | None:
            try:
                body = requests.get(api, params={"query": expr}, timeout=2).json()
            except (requests.RequestException, ValueError):
                return None
            result = body.get("data", {}).get("result", [])
            return float(result[0]["value"][1]) if result else None

        try:
            wait_for(lambda: query('up{job="products-sync"}') == 1, timeout=30, what="Prometheus to scrape /metrics")
            yield query
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_prometheus_sees_the_remote_requests_counter_grow_after_a_sync(workers, prometheus, live_server):
    workers.start("metrics")
    # Seen before the sync (at 0 or more): the zero series exist from the start.
    (before,) = wait_for(
        lambda: (v := prometheus(QUERY)) is not None and [v], timeout=15, what="the counter in Prometheus"
    )

    body = json.dumps(webhook_payload(reference="PROM-1")).encode()
    response = requests.post(
        live_server.url + WEBHOOK_URL,
        data=body,
        headers={"Content-Type": "application/json", "x-gesmart-signature": sign(body, WEBHOOK_SECRET)},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    sync_id = response.json()["data"]["syncId"]
    wait_for(
        lambda: SyncJob.objects.filter(sync_id=sync_id, status=SyncStatus.COMPLETED).exists(),
        timeout=60,
        what="the worker to run the job",
    )

    # What the service itself counts now (the worker's calls included), then Prometheus catching up to it.
    scraped = requests.get(live_server.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    served = sum(
        sample.value
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
        if sample.name == "products_sync_remote_requests_total" and sample.labels["system"] == "prestashop"
    )
    assert served > before

    def caught_up():
        current = prometheus(QUERY)
        return current if current is not None and current >= served else None

    after = wait_for(caught_up, timeout=20, what="Prometheus to see the counter grow")
    assert after - before >= 3  # the worker's shop calls for one new product (lookup, create, stock)
    assert prometheus('sum(products_sync_webhook_deliveries_total{result="accepted"})') >= 1
