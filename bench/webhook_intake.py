"""Webhook intake under load on gunicorn (2 workers), beside a trivial endpoint of the same app.

    DJANGO_DEBUG=1 .venv/bin/python -m bench.webhook_intake

Starts gunicorn (`config.wsgi:application`, 2 workers; BENCH_GUNICORN_ARGS adds options, e.g.
"--threads 4") on a free loopback port against a throwaway database (a SQLite file in a temp dir, or with
BENCH_POSTGRES_URL=postgres://user@host:5432/postgres a database of its own created on that server, migrated,
and dropped at the end) and a broker that accepts publishes
without a worker (BENCH_BROKER_URL; default Redis db 6 on 127.0.0.1:6379 when one answers, flushed before
and after, else the embedded SQLAlchemy-on-SQLite broker in the temp dir). No worker consumes: intake is
stored + published, which is all the request path does; the figures end with how many messages reached the
broker, so a publish that silently failed shows.

Closed loop: BENCH_CONCURRENCY threads (default 8) send for BENCH_SECONDS (default 5 s, at most
BENCH_MAX_REQUESTS each) to `/healthz` (the ceiling) and then to the webhook (validly signed product
deliveries, 200 references cycling, so both creates and updates). Open loop: BENCH_RATE (default 100) req/s
for BENCH_RATE_SECONDS (default 5 s), latency counted from each request's scheduled time.
Targets (issue): webhook ≥ 50 % of the ceiling's throughput; p99 < 50 ms at 100 req/s.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
SECRET = "bench-webhook-secret-" + secrets.token_hex(8)
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
MAX_REQUESTS = int(os.environ.get("BENCH_MAX_REQUESTS", "20000"))
RATE = float(os.environ.get("BENCH_RATE", "100"))
RATE_SECONDS = float(os.environ.get("BENCH_RATE_SECONDS", "5"))
WEBHOOK = "/api/webhooks/gesmart/products"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def product_body(i: int) -> bytes:
    """A realistic delivery without images or categories (no shop call on the request path)."""
    payload = {
        "operation": "update",
        "reference": f"BENCH{i % 200:04d}",
        "name": f"Professional Coffee Machine {i}",
        "description": "High-end espresso machine with a 15 bar pump and a steam wand.",
        "price": 1299.99 + i % 7,
        "quantity": i % 100,
        "active": True,
        "ean13": "4006381333931",
        "weight": 7.5,
        "brand": {"name": "CoffeePro"},
        "technical_data": [
            {"Gruppo": "Dati tecnici", "Descrizione": "Potenza", "Valore": "1500", "Suffisso": "W", "PrintOrder": 1},
            {"Gruppo": "Dati tecnici", "Descrizione": "Pressione", "Valore": "15", "Suffisso": "bar", "PrintOrder": 2},
        ],
    }
    return json.dumps(payload).encode()


def signed_request(i: int) -> tuple[str, str, bytes, dict]:
    body = product_body(i)
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    headers = {"Content-Type": "application/json", "x-gesmart-signature": signature}
    return "POST", WEBHOOK, body, headers


def ceiling_request(i: int) -> tuple[str, str, bytes | None, dict]:
    return "GET", "/healthz", None, {}


class Client:
    """One connection per thread, reopened whenever the server closes it (gunicorn sync workers do)."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, body: bytes | None, headers: dict) -> int:
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                response.read()
                if response.will_close:
                    self.conn.close()
                    self.conn = None
                return response.status
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def closed_loop(port: int, make_request, *, seconds: float, limit: int) -> dict:
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    counter = iter(range(limit))
    stop_at = time.perf_counter() + seconds

    def run():
        client = Client(port)
        mine, codes = [], Counter()
        while time.perf_counter() < stop_at:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            request = make_request(i)
            t0 = time.perf_counter()
            codes[client.send(*request)] += 1
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)
            statuses.update(codes)

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "elapsed": elapsed,
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "statuses": dict(statuses),
    }


def open_loop(port: int, make_request, *, rate: float, seconds: float) -> dict:
    total = int(rate * seconds)
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    local = threading.local()
    start = time.perf_counter() + 0.1

    def one(i: int):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        client = getattr(local, "client", None) or Client(port)
        local.client = client
        request = make_request(i)
        code = client.send(*request)
        latency = time.perf_counter() - scheduled  # from the scheduled time: queueing counts
        with lock:
            latencies.append(latency)
            statuses[code] += 1

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(one, range(total)))
    return {
        "requests": total,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "max": max(latencies) * 1000,
        "statuses": dict(statuses),
    }


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",  # production settings: no query log, no debug pages
        DJANGO_SECRET_KEY="bench-" + secrets.token_hex(16),
        PRODUCTS_SYNC_DATA_DIR=str(tmp),
        GESMART_WEBHOOK_SECRET=SECRET,
        WEBHOOK_THROTTLE_RATE="10000000/min",
        API_THROTTLE_RATE="10000000/min",
        PRODUCTSUP_ENABLED="0",
        LOG_LEVEL="WARNING",
    )
    broker = os.environ.get("BENCH_BROKER_URL") or _local_redis()
    if broker:
        env["CELERY_BROKER_URL"] = broker
    return env


def _local_redis() -> str | None:
    try:
        import redis

        client = redis.Redis(host=HOST, port=6379, db=6, socket_connect_timeout=1)
        client.ping()
        client.close()
        return f"redis://{HOST}:6379/6"
    except Exception:  # noqa: BLE001 - no Redis: the embedded broker
        return None


def _queued(url: str | None) -> str:
    if not (url and url.startswith("redis")):
        return "n/a (embedded broker)"
    import redis

    client = redis.Redis.from_url(url)
    try:
        return str(client.llen("sync"))
    finally:
        client.close()


def _postgres_create(server_url: str) -> tuple[str, str]:
    """Create a database of the bench's own on the server of `server_url`; returns (its URL, its name)."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = f"products_sync_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, "")), name


def _postgres_drop(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _flush_redis(url: str | None) -> None:
    if url and url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()


def _wait_up(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            if Client(port).send("GET", "/healthz", None, {}) == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def _stored(env: dict) -> str:
    """Counted in a separate process with the server's settings (this process never loads Django)."""
    code = (
        "import django; django.setup()\n"
        "from webhooks.models import WebhookDelivery; from syncjobs.models import SyncJob\n"
        "print(WebhookDelivery.objects.filter(status_code=200).count(), SyncJob.objects.count())"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or out.stderr.strip()[-300:]


def row(name: str, r: dict) -> str:
    return f"{name:<10} {r['requests']:>8} {r['rps']:>9.0f} {r['p50']:>8.1f} {r['p99']:>8.1f}   {r['statuses']}"


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="products-sync-bench-webhook-"))
    env = _env(tmp)
    pg_server, pg_name = os.environ.get("BENCH_POSTGRES_URL"), None
    if pg_server:
        env["DATABASE_URL"], pg_name = _postgres_create(pg_server)
    _flush_redis(env.get("CELERY_BROKER_URL"))
    try:
        _run(env, tmp)
    finally:
        _flush_redis(env.get("CELERY_BROKER_URL"))
        if pg_name:
            _postgres_drop(pg_server, pg_name)
        shutil.rmtree(tmp, ignore_errors=True)


def _run(env: dict, tmp: Path) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], env=env, cwd=ROOT, check=True)
    port = free_port()
    gunicorn = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            "--workers",
            "2",
            "--bind",
            f"{HOST}:{port}",
            "--log-level",
            "warning",
            *os.environ.get("BENCH_GUNICORN_ARGS", "").split(),
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        _wait_up(port, gunicorn)
        db = env.get("DATABASE_URL", "sqlite (temp file)")
        broker = env.get("CELERY_BROKER_URL", "sqla+sqlite (embedded, temp file)")
        extra = os.environ.get("BENCH_GUNICORN_ARGS", "")
        print(
            f"gunicorn 2 workers {extra} on {HOST}:{port}; database {db.split('@')[-1]}; broker {broker.split('@')[-1]}"
        )
        print(
            f"closed loop: {CONCURRENCY} client threads, {SECONDS:.0f} s each; {os.cpu_count()} CPUs shared by "
            f"server and client"
        )
        # Warm both paths (imports, first connections) before measuring.
        closed_loop(port, ceiling_request, seconds=0.5, limit=200)
        closed_loop(port, lambda i: signed_request(10_000 + i), seconds=0.5, limit=200)

        ceiling = closed_loop(port, ceiling_request, seconds=SECONDS, limit=MAX_REQUESTS)
        webhook = closed_loop(port, signed_request, seconds=SECONDS, limit=MAX_REQUESTS)
        print(f"{'':<10} {'requests':>8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}   statuses")
        print(row("ceiling", ceiling))
        print(row("webhook", webhook))
        share = webhook["rps"] / ceiling["rps"] * 100
        print(f"webhook throughput = {share:.0f} % of the ceiling (target ≥ 50 %)")

        fixed = open_loop(port, lambda i: signed_request(20_000 + i), rate=RATE, seconds=RATE_SECONDS)
        print(
            f"fixed rate {RATE:.0f} req/s for {RATE_SECONDS:.0f} s: {fixed['requests']} requests, "
            f"p50 {fixed['p50']:.1f} ms, p99 {fixed['p99']:.1f} ms, max {fixed['max']:.1f} ms "
            f"(target p99 < 50 ms)   {fixed['statuses']}"
        )
        print(
            f"stored: accepted deliveries, sync jobs = {_stored(env)}; messages in the broker's sync queue = "
            f"{_queued(env.get('CELERY_BROKER_URL'))}"
        )
    finally:
        gunicorn.send_signal(signal.SIGTERM)  # the master stops its workers gracefully
        try:
            gunicorn.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(gunicorn.pid, signal.SIGKILL)
            gunicorn.wait(timeout=10)


if __name__ == "__main__":
    main()
