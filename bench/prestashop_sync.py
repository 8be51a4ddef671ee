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

    def batch(prefix: str, concurrency: int) -> tuple[int, float]:
        settings.PRESTASHOP_WRITE_CONCURRENCY = concurrency
        products = [
            {
                "operation": "create",
                "reference": f"{prefix}-{i:03d}",
                "name": f"Batch product {i}",
                "price": 10 + i,
                "quantity": i,
                "categories": [2],
                "brand": {"name": "BenchBrand"},
            }
            for i in range(50)
        ]
        body, calls, wall = post("/api/products/sync/batch", {"products": products})
        assert body["data"]["successful"] == 50, body["data"]
        return calls, wall

    concurrency = 8
    calls_c, wall_c = batch("CONC", concurrency)
    calls_s, wall_s = batch("SEQ", 1)
    rows.append((f"(5) batch of 50 new products, concurrency {concurrency}", calls_c, wall_c))
    rows.append(("(5) batch of 50 new products, one at a time", calls_s, wall_s))

    print(f"Sandbox PrestaShop with {LATENCY_MS} ms injected latency per Webservice call\n")
    print(f"{'case':<62} {'calls':>6} {'wall s':>8}")
    for name, calls, wall in rows:
        print(f"{name:<62} {calls:>6} {wall:>8.2f}")
    print(f"\nbatch speed-up with concurrency {concurrency}: {wall_s / wall_c:.1f}x")
    shop_proc.terminate()
    shop_proc.wait(timeout=10)


if __name__ == "__main__":
    main()
