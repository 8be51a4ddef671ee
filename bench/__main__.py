"""`make bench`: run every benchmark in turn (each prints its own figures)."""

import importlib
import subprocess
import sys

BENCHMARKS = ["bench.prestashop_sync", "bench.productsup_export", "bench.webhook_intake"]

if __name__ == "__main__":
    failed = []
    for name in BENCHMARKS:
        try:
            importlib.util.find_spec(name)
        except ModuleNotFoundError:
            continue
        print(f"\n=== {name} ===", flush=True)
        if subprocess.run([sys.executable, "-m", name]).returncode:
            failed.append(name)
    sys.exit(1 if failed else 0)
