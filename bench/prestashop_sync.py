"""Webservice calls and wall time of the sync API against the sandbox shop with 50 ms per call.

    DJANGO_DEBUG=1 .venv/bin/python -m bench.prestashop_sync

Cases (issue "Complete products in PrestaShop"): (1) a new product with a new brand, 3 images and 15
technical data; (2) the same product again, unchanged; (3) price-only change; (4) one image replaced;
(5) a batch of 50 new products, with the configured write concurrency and one at a time.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

from bench import _django

LATENCY_MS = int(os.environ.get("BENCH_LATENCY_MS", "50"))


KEY = "BENCHKEYBENCHKEYBENCHKEYBENCHKEY"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_shop(latency_ms: int) -> tuple[subprocess.Popen, str]:
    """The sandbox in its own process, like a real shop (in-process it would share our GIL)."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandboxes.prestashop",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--key",
            KEY,
            "--latency-ms",
            str(latency_ms),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, url
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sandbox shop did not start")


def main() -> None:
    shop_proc, shop_url = _start_shop(LATENCY_MS)
    _django.setup(
        PRESTASHOP_URL=shop_url, PRESTASHOP_API_KEY=KEY, PRODUCTSUP_ENABLED="0", API_THROTTLE_RATE="100000/min"
    )
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from tests.factories.images import image_b64

    user = get_user_model().objects.create_user("bench", password="bench-password")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")

    from syncjobs.services.shop import get_shop

    def post(path: str, body: dict) -> tuple[dict, int, float]:
        before = get_shop().client.calls  # every Webservice call passes through the client's _request()
        start = time.perf_counter()
        response = client.post(path, data=json.dumps(body), content_type="application/json")
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, response.content[:500]
        return response.json(), get_shop().client.calls - before, elapsed

    # Warm the per-process caches (languages, categories) the way a running service has them.
    post(
        "/api/products/sync",
        {"operation": "create", "reference": "WARM", "name": "Warm", "price": 1, "quantity": 1, "categories": [2]},
    )

    images = [{"fileName": f"p{i}.jpg", "base64": image_b64("JPEG", (600, 600), (40 * i, 90, 120))} for i in range(3)]
    technical = [
        {
            "Gruppo": "Specifiche",
            "Descrizione": f"Caratteristica {i}",
            "Valore": str(i * 10),
            "Suffisso": "mm",
            "PrintOrder": i,
        }
        for i in range(15)
    ]
    product = {
        "operation": "create",
        "reference": "BENCH-1",
        "name": "Benchmark espresso machine",
        "description": "Bench",
        "price": 1299.99,
        "quantity": 50,
        "categories": [3, 5],
        "brand": {"name": "BenchBrand"},
        "images": images,
        "technical_data": technical,
    }
    rows = []
    _, calls, wall = post("/api/products/sync", product)
    rows.append(("(1) new product, new brand, 3 images, 15 technical data", calls, wall))
    _, calls, wall = post("/api/products/sync", {**product, "operation": "update"})
    rows.append(("(2) same product again, unchanged", calls, wall))
    _, calls, wall = post("/api/products/sync", {**product, "operation": "update", "price": 1199.99})
    rows.append(("(3) price-only change", calls, wall))
    replaced = [*images[:2], {"fileName": "new.jpg", "base64": image_b64("JPEG", (600, 600), (1, 2, 3))}]
    _, calls, wall = post(
        "/api/products/sync", {**product, "operation": "update", "price": 1199.99, "images": replaced}
    )
    rows.append(("(4) one image replaced", calls, wall))

    def batch_products(prefix: str, erp_shape: bool) -> list[dict]:
        """50 new products; ERP shape: a brand out of 5 new ones, 2 technical data (2 shared features, the
        second with one new value per product)."""
        products = []
        for i in range(50):
            item = {
                "operation": "create",
                "reference": f"{prefix}-{i:03d}",
                "name": f"Batch product {i}",
                "price": 10 + i,
                "quantity": i,
                "categories": [2],
            }
            if erp_shape:
                item["brand"] = {"name": f"{prefix} Brand {i % 5}"}
                item["technical_data"] = [
                    {"Gruppo": "Dati", "Descrizione": f"{prefix} Tensione", "Valore": "230", "Suffisso": "V"},
                    {"Gruppo": "Dati", "Descrizione": f"{prefix} Codice", "Valore": f"C-{i}", "Suffisso": ""},
                ]
            else:
                item["brand"] = {"name": "BenchBrand"}
            products.append(item)
        return products

    def batch(prefix: str, concurrency: int, erp_shape: bool) -> tuple[int, float, float]:
        settings.PRESTASHOP_WRITE_CONCURRENCY = concurrency
        cpu = time.process_time()
        body, calls, wall = post("/api/products/sync/batch", {"products": batch_products(prefix, erp_shape)})
        cpu = time.process_time() - cpu
        assert body["data"]["successful"] == 50, body["data"]
        return calls, wall, cpu

    concurrency = 8
    runs = int(os.environ.get("BENCH_BATCH_RUNS", "5"))
    batch_rows = []
    for erp_shape in (True, False):
        label = "5 new brands, 2 technical data each" if erp_shape else "one known brand, no technical data"
        ratios, walls, calls_seen = [], [], []
        for run in range(runs):
            calls, wall, _ = batch(f"{'E' if erp_shape else 'S'}{run}", concurrency, erp_shape)
            ratios.append(calls * LATENCY_MS / 1000 / wall)
            walls.append(wall)
            calls_seen.append(calls)
        calls_1, wall_1, _ = batch(f"{'E' if erp_shape else 'S'}SEQ", 1, erp_shape)
        batch_rows.append((label, calls_seen, walls, ratios, calls_1, wall_1))

    print(f"Sandbox PrestaShop with {LATENCY_MS} ms injected latency per Webservice call\n")
    print(f"{'case':<62} {'calls':>6} {'wall s':>8}")
    for name, calls, wall in rows:
        print(f"{name:<62} {calls:>6} {wall:>8.2f}")
    print(f"\nBatch of 50 new products, concurrency {concurrency}, {runs} runs (sequential bound = calls x latency):")
    for label, calls_seen, walls, ratios, calls_1, wall_1 in batch_rows:
        print(
            f"  {label}: calls {min(calls_seen)}-{max(calls_seen)}, wall {min(walls):.2f}-{max(walls):.2f} s, "
            f"{min(ratios):.1f}-{max(ratios):.1f}x the sequential bound "
            f"(one at a time: {calls_1} calls, {wall_1:.2f} s)"
        )
    shop_proc.terminate()
    shop_proc.wait(timeout=10)

    # The service's own CPU per pushed product: the same batches against a shop with no latency.
    fast_proc, fast_url = _start_shop(0)
    settings.PRESTASHOP_URL = fast_url
    from django.core.cache import cache

    cache.clear()
    post(
        "/api/products/sync",
        {"operation": "create", "reference": "WARM2", "name": "Warm", "price": 1, "quantity": 1, "categories": [2]},
    )
    print("\nThe service's own CPU (this process: API, storage, runner, client) against a shop with no latency:")
    for erp_shape in (True, False):
        cpus = []
        for run in range(3):
            _, _, cpu = batch(f"{'F' if erp_shape else 'G'}{run}", concurrency, erp_shape)
            cpus.append(cpu * 1000 / 50)
        label = "5 new brands, 2 technical data each" if erp_shape else "no technical data"
        print(f"  batch of 50 ({label}): {min(cpus):.1f}-{max(cpus):.1f} ms CPU per pushed product")
    drain(fast_url)
    fast_proc.terminate()
    fast_proc.wait(timeout=10)


def drain(shop_url: str) -> None:
    """One worker process draining simple product updates (price and quantity) queued as jobs: `job_run` one
    after another, as a Celery worker process with concurrency 1 runs them."""
    from catalog.models import Product
    from syncjobs.models import SyncJob
    from syncjobs.services.runner import job_run

    products = list(Product.objects.filter(reference__startswith="G0-").order_by("pk")[:50])
    jobs = []
    for round_ in range(4):
        for product in products:
            Product.objects.filter(pk=product.pk).update(price=product.price + round_ + 1, quantity=round_ + 7)
            jobs.append(
                SyncJob.objects.create(reference=product.reference, product=product, operation="update", source="api")
            )
    cpu, start = time.process_time(), time.perf_counter()
    for job in jobs:
        done = job_run(job_id=job.pk)
        assert done.status == "completed", (done.status, done.error)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"\nOne worker process, {len(jobs)} simple updates (price + quantity) against the shop with no latency: "
        f"{len(jobs) / wall:.0f} jobs/s ({wall * 1000 / len(jobs):.1f} ms wall, {cpu * 1000 / len(jobs):.1f} ms CPU each)"
    )


if __name__ == "__main__":
    main()
