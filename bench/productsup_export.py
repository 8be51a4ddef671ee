"""Benchmark: full and delta Productsup exports of a generated catalogue against the sandbox.

    DJANGO_DEBUG=1 .venv/bin/python -m bench.productsup_export [--products 100000] [--changed 1000]
                                                               [--transport platform|stream|both]

Uses its own temporary SQLite database (PRODUCTS_SYNC_DATA_DIR in a temp dir; the shared dev DB is never
touched) and a sandbox Productsup in a separate process, so the memory figures are the exporter's own.
Each phase runs in a fresh process: generate the catalogue; full export; delta of N changed products.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


# --- phases (each in its own process) ----------------------------------------------------------
def phase_generate(n: int) -> dict:
    _django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from decimal import Decimal

    from catalog.models import Brand, ImageBlob, Product, ProductImage, TechnicalData

    started = time.monotonic()
    brands = [Brand.objects.create(name=f"Brand {i}") for i in range(50)]
    blob = ImageBlob.objects.create(sha256="0" * 64, content=b"\xff\xd8\xff", size=3, format="jpeg", width=1, height=1)
    specs = [("Potenza", "W"), ("Colore", ""), ("Peso netto", "kg"), ("Tensione", "V"), ("Materiale", "")]
    chunk = 5000
    for start in range(0, n, chunk):
        products = [
            Product(
                reference=f"BENCH-{i:07d}",
                name=f"Prodotto di prova numero {i} con un nome realistico",
                description="Descrizione del prodotto " * 8,
                price=Decimal(f"{(i % 5000) + 0.99}"),
                quantity=i % 17,
                active=i % 11 != 0,
                categories=[2, 10 + i % 40],
                ean13=f"{8000000000000 + i}",
                weight=Decimal("1.25"),
                brand=brands[i % len(brands)],
            )
            for i in range(start, min(n, start + chunk))
        ]
        Product.objects.bulk_create(products, batch_size=1000)
        ids = list(Product.objects.filter(reference__in=[p.reference for p in products]).values_list("pk", flat=True))
        images, data = [], []
        for pk in ids:
            images.append(ProductImage(product_id=pk, position=0, file_name="a.jpg", blob=blob, presta_image_id=pk * 2))
            images.append(
                ProductImage(product_id=pk, position=1, file_name="b.jpg", blob=blob, presta_image_id=pk * 2 + 1)
            )
            for pos, (d, suffix) in enumerate(specs[: 2 + pk % 4]):
                data.append(
                    TechnicalData(
                        product_id=pk,
                        position=pos,
                        gruppo="Dati",
                        descrizione=d,
                        valore=str(pk % 1000),
                        suffisso=suffix,
                        print_order=pos,
                    )
                )
        ProductImage.objects.bulk_create(images, batch_size=2000)
        TechnicalData.objects.bulk_create(data, batch_size=2000)
    return {"products": Product.objects.count(), "seconds": round(time.monotonic() - started, 1)}


def _run_export(full: bool) -> dict:
    _django()
    from exports import services
    from exports.models import ProductsupBatch

    # Warm up imports, the DB connection and the HTTP stack, then take the idle figure.
    ProductsupBatch.objects.count()
    captured = {}
    real = services.export_transport

    def capture(name=None):
        captured["transport"] = transport = real(name)
        return transport

    services.export_transport = capture
    idle = _rss_bytes()
    peak_before = _peak_bytes()
    started = time.monotonic()
    batch = services.productsup_export(full=full, triggered_by="command")
    wall = time.monotonic() - started
    peak = _peak_bytes()
    transport = captured["transport"]
    http_calls = transport.client.calls
    return {
        "transport": transport.name,
        "kind": batch.kind,
        "status": batch.status,
        "rows": batch.rows,
        "upload_requests": batch.requests,
        "commits": 1 if batch.status in ("committed", "partial") and transport.name == "platform" else 0,
        "http_requests": http_calls,
        "bytes": batch.bytes,
        "wall_seconds": round(wall, 2),
        "idle_rss_mb": round(idle / 2**20, 1),
        "peak_above_idle_mb": round((peak - idle) / 2**20, 1),
        "peak_was_idle_before": peak_before <= idle * 1.01,
    }


def phase_full() -> dict:
    return _run_export(full=True)


def phase_delta(changed: int) -> dict:
    _django()
    from django.utils import timezone

    from catalog.models import Product

    total = Product.objects.count()
    step = max(1, total // changed)
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True)[::step][:changed])
    Product.objects.filter(pk__in=ids).update(productsup_dirty_at=timezone.now(), quantity=0)
    return {"changed": len(ids), **_run_export(full=False)}


# --- orchestration -----------------------------------------------------------------------------
def _child(args: list[str], env: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.productsup_export", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit(f"phase {args} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _start_sandbox(env: dict) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandboxes.productsup", "--port", "0", "--process-interval", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip()
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"sandbox did not start: {line!r}")
    return proc, line.rsplit(" ", 1)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description="Productsup export benchmark")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=1_000)
    parser.add_argument("--transport", choices=["platform", "stream", "both"], default="both")
    parser.add_argument("--phase", choices=["generate", "full", "delta"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase == "generate":
        print(json.dumps(phase_generate(args.products)))
        return 0
    if args.phase == "full":
        print(json.dumps(phase_full()))
        return 0
    if args.phase == "delta":
        print(json.dumps(phase_delta(args.changed)))
        return 0

    data_dir = tempfile.mkdtemp(prefix="bench-productsup-")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DJANGO_DEBUG="1",
        PRODUCTS_SYNC_DATA_DIR=data_dir,
        CELERY_BROKER_URL="memory://",
        PRODUCTSUP_ENABLED="1",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    sandbox, url = _start_sandbox(env)
    env.update(
        PRODUCTSUP_API_URL=f"{url}/platform/v2",
        PRODUCTSUP_STREAM_API_URL=f"{url}/stream",
        PRODUCTSUP_CLIENT_ID="1234",
        PRODUCTSUP_CLIENT_SECRET="sandbox-secret",  # the sandbox's
        PRODUCTSUP_SITE="123",
        PRODUCTSUP_STREAM_ID="1000",
        PRODUCTSUP_STREAM_TOKEN="sandbox-stream-token",
    )
    try:
        print(f"Productsup export benchmark: {args.products:,} products, sandbox at {url}, data in {data_dir}")
        gen = _child(["--phase", "generate", "--products", str(args.products)], env)
        print(f"  generated {gen['products']:,} products in {gen['seconds']} s")
        expected = math.ceil(args.products / 10_000)
        for transport in ["platform", "stream"] if args.transport == "both" else [args.transport]:
            env["PRODUCTSUP_TRANSPORT"] = transport
            full = _child(["--phase", "full"], env)
            delta = _child(["--phase", "delta", "--changed", str(args.changed)], env)
            print(f"\n[{transport}] full export")
            print(f"  status              {full['status']}")
            print(f"  rows                {full['rows']:,}")
            print(f"  upload requests     {full['upload_requests']}  (expected ⌈N/10,000⌉ = {expected})")
            print(f"  commits             {full['commits']}")
            print(f"  HTTP requests       {full['http_requests']}")
            print(f"  bytes sent          {full['bytes'] / 2**20:.1f} MiB")
            print(f"  wall time           {full['wall_seconds']} s")
            print(f"  idle RSS            {full['idle_rss_mb']} MiB")
            print(f"  peak RSS above idle {full['peak_above_idle_mb']} MiB  (target < 150)")
            print(f"[{transport}] delta of {delta['changed']:,} changed among {args.products:,}")
            print(f"  status              {delta['status']}")
            print(f"  rows                {delta['rows']:,}")
            print(f"  upload requests     {delta['upload_requests']}")
            print(f"  commits             {delta['commits']}")
            print(f"  HTTP requests       {delta['http_requests']}")
            print(f"  wall time           {delta['wall_seconds']} s")
            print(f"  peak RSS above idle {delta['peak_above_idle_mb']} MiB")
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
