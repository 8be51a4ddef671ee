"""`manage.py import_products` of a large NDJSON export: wall time, peak RSS above idle, shop calls.

    .venv/bin/python -m bench.import_products            # 100,000 products (BENCH_IMPORT_COUNT to change)

Each run is a real `manage.py import_products FILE` process on a throwaway SQLite database with the
embedded broker (SQLAlchemy-on-SQLite, as `make run`), against the sandbox shop in its own process:

1. idle: the command on an empty file (Django loaded, nothing read) — the baseline RSS;
2. first run: every product new (validated, stored, queued on `bulk`);
3. second run of the same file: every product unchanged — the goal is 0 shop calls and no new job.

Peak RSS is the process's own maximum (`wait4`'s ru_maxrss). Shop calls are the Webservice requests the
command made (the `products_sync_remote_requests_total` counter its process wrote).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from bench.erp_export import write_export
from bench.prestashop_sync import KEY, _start_shop

ROOT = Path(__file__).resolve().parents[1]
COUNT = int(os.environ.get("BENCH_IMPORT_COUNT", "100000"))


def shop_calls(metrics_dir: Path) -> int:
    """Webservice requests the service's processes have made so far: the metric every outbound call
    passes (`products_sync_remote_requests_total`, all outcomes), read from their multiprocess directory."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))
    return int(
        sum(
            sample.value
            for metric in registry.collect()
            for sample in metric.samples
            if sample.name == "products_sync_remote_requests_total" and sample.labels.get("system") == "prestashop"
        )
    )


def run(path: Path, env: dict[str, str]) -> tuple[float, int, str]:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "import_products", str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    out = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"import_products exited with {process.returncode}: {out}")
    return time.monotonic() - started, usage.ru_maxrss * 1024, out.strip().splitlines()[-1]


def main() -> None:
    data = Path(tempfile.mkdtemp(prefix="products-sync-bench-import-"))
    export = data / "export.ndjson"
    started = time.monotonic()
    size = write_export(export, COUNT, images=1, image_px=16, prefix="BENCH")
    print(f"export: {COUNT} products, {size / 1e6:.1f} MB NDJSON, written in {time.monotonic() - started:.1f}s")
    empty = data / "empty.ndjson"
    empty.write_bytes(b"")

    shop, url = _start_shop(0)
    env = {
        **os.environ,
        "PRODUCTS_SYNC_DATA_DIR": str(data),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnop",
        "CELERY_BROKER_URL": f"sqla+sqlite:///{data / 'broker.sqlite3'}",
        "PRESTASHOP_URL": url,
        "PRESTASHOP_API_KEY": KEY,
        "PRODUCTSUP_ENABLED": "0",
        "LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(data / "metrics"),
    }
    env.pop("DATABASE_URL", None)
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        _, idle, _ = run(empty, env)
        print(f"idle: peak RSS {idle / 2**20:.0f} MB (the command on an empty file)")
        for label in ("first run (all new)", "second run (unchanged)"):
            before = shop_calls(data / "metrics")
            wall, peak, summary = run(export, env)
            calls = shop_calls(data / "metrics") - before
            print(
                f"{label}: {wall:.1f}s wall ({COUNT / wall:.0f} products/s), peak RSS {peak / 2**20:.0f} MB "
                f"= {(peak - idle) / 2**20:.0f} MB above idle, {calls} shop calls — {summary}"
            )
    finally:
        shop.terminate()
        shop.wait(timeout=10)
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB peak)")


if __name__ == "__main__":
    main()
