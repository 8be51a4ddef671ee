"""Full resync (with drift verification) of a large catalogue against the sandbox shop at 50 ms per call.

    DJANGO_DEBUG=1 .venv/bin/python -m bench.prestashop_resync        # BENCH_RESYNC_PRODUCTS=100000

The shop (its own process) starts with N products already there, exactly as the service pushed them; the
service's database (SQLite, throwaway) holds the same N products with their stored shop state. Then:
(a) 1 % of the products changed locally (a new price): one full resync; (b) nothing changed: another one.
Printed: shop calls (reads / writes, counted on the client's Session), wall time, CPU time of this process,
peak RSS above idle (sampled), database rows read (rows fetched through Django's cursors).
"""

from __future__ import annotations

import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

from bench import _django
from bench.prestashop_sync import KEY, _free_port

N = int(os.environ.get("BENCH_RESYNC_PRODUCTS", "100000"))
LATENCY_MS = int(os.environ.get("BENCH_LATENCY_MS", "50"))
BASE = "http://template.shop"


def _spec(i: int):
    from connectors.prestashop.types import ProductSpec

    return ProductSpec(
        reference=f"RS{i:06d}",
        name=f"Resync product {i}",
        description="Bench product",
        price=Decimal(10 + i % 500),
        quantity=i % 7,
        active=True,
        category_ids=[2],
        ean13="",
        weight=Decimal("1.5"),
        manufacturer_id=None,
    )


def build_state(path: str, count: int) -> None:
    """The shop's store with `count` products as the service pushed them (one pushed for real, then cloned),
    written to `path`. Runs in its own process so its memory is not counted against the resync."""
    from connectors.prestashop.client import PrestaShopClient
    from connectors.prestashop.facts import MemoryStore, ShopFacts
    from connectors.prestashop.sync import ShopSync
    from sandboxes.prestashop import SandboxPrestaShop
    from sandboxes.prestashop.inprocess import in_process_session

    shop = SandboxPrestaShop(api_key=KEY)
    client = PrestaShopClient(BASE, KEY, session=in_process_session(shop, BASE))
    sync = ShopSync(client, ShopFacts(client, MemoryStore(), key_prefix="b"), default_category_id=2)
    first = sync.push_product(_spec(0), None)
    store = shop.store
    template = store.tables["products"][first.presta_id]
    stock_template = next(
        r for r in store.tables["stock_availables"].values() if r["id_product"] == str(first.presta_id)
    )
    from sandboxes.prestashop.php import mysql_decimal, str2url

    for i in range(1, count):
        spec = _spec(i)
        pid, sid = first.presta_id + i, int(stock_template["id"]) + i
        record = copy.deepcopy(template)
        name = spec.name
        record.update(
            id=str(pid),
            reference=spec.reference,
            price=mysql_decimal(str(spec.price)),
            name={lang: name for lang in record["name"]},
            link_rewrite={lang: str2url(name) for lang in record["link_rewrite"]},
        )
        store.tables["products"][pid] = record
        stock = dict(stock_template, id=str(sid), id_product=str(pid), quantity=str(spec.quantity))
        store.tables["stock_availables"][sid] = stock
        store.product_categories[pid] = [2]
        store.category_products.setdefault(2, []).append(pid)
    store.next_ids["products"] = first.presta_id + count
    store.next_ids["stock_availables"] = int(stock_template["id"]) + count
    Path(path).write_text(json.dumps(store.to_json()))
    print(json.dumps({"presta_id": first.presta_id, "stock_id": int(stock_template["id"])}))


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


class _Peak(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.05)


def main() -> None:
    shop_proc = None
    try:
        _main(lambda proc: globals().__setitem__("_SHOP", proc))
    finally:
        proc = globals().get("_SHOP")
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
    del shop_proc


def _main(started) -> None:
    tmp = tempfile.mkdtemp(prefix="resync-bench-")
    state_path = os.path.join(tmp, "shop.json")
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "bench.prestashop_resync", "build-state", state_path, str(N)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    ids = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"shop state of {N} products built in {time.perf_counter() - t0:.0f} s")
    port = _free_port()
    shop_proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandboxes.prestashop",
            "--port",
            str(port),
            "--key",
            KEY,
            "--latency-ms",
            str(LATENCY_MS),
            "--load-state",
            state_path,
        ],
        stdout=subprocess.DEVNULL,
    )
    started(shop_proc)
    _django.setup(PRESTASHOP_URL=f"http://127.0.0.1:{port}", PRESTASHOP_API_KEY=KEY, PRODUCTSUP_ENABLED="0")
    from django.db.backends import utils as db_utils

    from catalog.models import Product
    from connectors.prestashop import mapping
    from connectors.prestashop.state import Hashes, ShopState, StockRow
    from connectors.prestashop.sync import core_hash, features_hash
    from syncjobs.services.resync import resync_start
    from syncjobs.services.shop import get_shop

    t0 = time.perf_counter()
    batch = []
    for i in range(N):
        spec = _spec(i)
        fields, _ = mapping.core_fields(spec, languages=[1, 2], default_category_id=2)
        pid = ids["presta_id"] + i
        state = ShopState(
            presta_id=pid,
            languages=[1, 2],
            stock=StockRow(id=ids["stock_id"] + i, id_product=pid, id_shop=1, out_of_stock=2),
            hashes=Hashes(core=core_hash(fields), features=features_hash([]), quantity=spec.quantity),
        )
        batch.append(
            Product(
                reference=spec.reference,
                name=spec.name,
                description=spec.description,
                price=spec.price,
                quantity=spec.quantity,
                active=True,
                categories=[2],
                ean13="",
                weight=spec.weight,
                presta_id=pid,
                shop_state=state.to_json(),
            )
        )
        if len(batch) == 5000:
            Product.objects.bulk_create(batch)
            batch = []
    Product.objects.bulk_create(batch)
    print(f"{N} local products stored in {time.perf_counter() - t0:.0f} s")

    deadline = time.time() + 120
    while True:  # the sandbox loads its state
        try:
            get_shop().facts.refresh_all()
            break
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.5)

    methods: dict[str, int] = {}

    def count(response, *args, **kwargs):
        methods[response.request.method] = methods.get(response.request.method, 0) + 1

    get_shop().client.session.hooks["response"].append(count)
    rows = [0]

    def fetchmany(self, *args, **kwargs):
        result = self.cursor.fetchmany(*args, **kwargs)
        rows[0] += len(result)
        return result

    def fetchall(self):
        result = self.cursor.fetchall()
        rows[0] += len(result)
        return result

    def fetchone(self):
        result = self.cursor.fetchone()
        rows[0] += result is not None
        return result

    # Every row Django reads passes through these (CursorWrapper otherwise delegates them to the cursor).
    db_utils.CursorWrapper.fetchmany, db_utils.CursorWrapper.fetchall = fetchmany, fetchall
    db_utils.CursorWrapper.fetchone = fetchone

    results = []
    for label, changed in (("1 % changed", max(1, N // 100)), ("0 % changed", 0)):
        if changed:
            step = N // changed
            pks = list(Product.objects.order_by("pk").values_list("pk", flat=True)[::step])[:changed]
            Product.objects.filter(pk__in=pks).update(price=Decimal("9999.99"))
        methods.clear()
        rows[0] = 0
        idle = _rss_mb()
        peak = _Peak()
        peak.start()
        cpu, start = time.process_time(), time.perf_counter()
        run = resync_start(inline=True)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        peak.running = False
        peak.join()
        reads = methods.get("GET", 0)
        writes = sum(v for k, v in methods.items() if k != "GET")
        results.append((label, changed, run, reads, writes, wall, cpu, peak.peak - idle, rows[0]))

    shop_proc.terminate()
    shop_proc.wait(timeout=30)
    print(f"\nFull resync of {N} products, sandbox shop at {LATENCY_MS} ms per call, one worker (inline chunks)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores)\n")
    print(
        f"{'case':<14} {'changed':>8} {'read calls':>10} {'write calls':>11} {'wall s':>8} {'CPU s':>7} "
        f"{'peak RSS +MB':>12} {'DB rows read':>12} {'run':>22}"
    )
    for label, changed, run, reads, writes, wall, cpu, rss, db_rows in results:
        print(
            f"{label:<14} {changed:>8} {reads:>10} {writes:>11} {wall:>8.1f} {cpu:>7.1f} {rss:>12.1f} "
            f"{db_rows:>12} {f'{run.checked} checked, {run.changed} changed, {run.failed} failed':>22}"
        )
    print(
        f"\ntargets: read calls <= {2 * -(-N // 1000)}, write calls <= 1.05 x changed x calls per change, "
        "wall < 15 min, peak RSS < 200 MB above idle, 0 writes at 0 % changed"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "build-state":
        import django

        os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnop")
        os.environ["DJANGO_DEBUG"] = "1"
        django.setup()
        build_state(sys.argv[2], int(sys.argv[3]))
    else:
        main()
