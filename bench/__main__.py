"""`make bench`: run every benchmark in turn, each in its own process (each prints its own figures)."""

import subprocess
import sys

BENCHMARKS = [
    "bench.prestashop_sync",
    "bench.prestashop_resync",
    "bench.productsup_export",
    "bench.webhook_intake",
    "bench.import_products",
]  # bench.recovery needs PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL): run it on its own

if __name__ == "__main__":
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== {name} ===", flush=True)
        if subprocess.run([sys.executable, "-m", name]).returncode:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    sys.exit(1 if failed else 0)
