"""Webhook intake under load on gunicorn (2 workers), beside `/healthz` of the same app, in one run.

    DJANGO_DEBUG=1 .venv/bin/python -m bench.webhook_intake

What runs: gunicorn (`config.wsgi:application`, 2 sync workers; BENCH_GUNICORN_ARGS adds options) on a
free loopback port, against
- a database of its own: with BENCH_POSTGRES_URL=postgres://user@host:5432/postgres one created on that
  server, migrated and dropped at the end; otherwise a SQLite file in a temp dir;
- Redis as broker and shared cache: a private `redis-server` on a free loopback port when the binary is
  there (so its CPU is the bench's alone), else BENCH_BROKER_URL (flushed before and after; on a shared
  server the Redis CPU figure includes everyone's load), else the embedded SQLAlchemy broker;
- the shop: the sandbox PrestaShop (`shop up`), then a shop that accepts connections and never answers
  (`shop hanging`); each gets its own gunicorn, same database and broker.

No worker consumes: the request path is store + publish, and the figures end with how many rows and
messages there are, so a publish that silently failed shows.

Per shop mode, in this order: closed loop on `/healthz` (the ceiling) and on the webhook (BENCH_CONCURRENCY
threads, default 8, BENCH_SECONDS each, default 5), then an open loop at BENCH_RATE deliveries/s (default
100) for BENCH_RATE_SECONDS (default 5), latency counted from each request's scheduled time. Deliveries
are validly signed updates of 200 references (creates and updates), with a brand, two technical data and
a category (`[2]`, so the category check runs; BENCH_CATEGORIES=0 sends none).

CPU per request is read from /proc (utime + stime) of every process that serves it: the gunicorn
workers (and master), the PostgreSQL backends of the bench's database, and the Redis server. Wall-clock
throughput depends on what else the machine runs; CPU per request and the same-run ratio much less.
BENCH_REPEAT=N repeats the whole closed-loop pair N times and prints each and the medians.
Targets (issue 13): webhook ≥ 35 % of `/healthz` in the same run, p99 < 50 ms at 100/s, and with the shop
hanging the same figures.
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
import statistics
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
SHOP_KEY = "BENCHKEYBENCHKEYBENCHKEYBENCHKEY"
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
MAX_REQUESTS = int(os.environ.get("BENCH_MAX_REQUESTS", "20000"))
RATE = float(os.environ.get("BENCH_RATE", "100"))
RATE_SECONDS = float(os.environ.get("BENCH_RATE_SECONDS", "5"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "1"))
CATEGORIES = os.environ.get("BENCH_CATEGORIES", "1") != "0"
MODES = os.environ.get("BENCH_MODES", "up,hanging").split(",")
# The open loop stops sending a request this late (a server that hangs would otherwise hold the bench for ages).
LATE_GIVE_UP = 10.0
WEBHOOK = "/api/webhooks/gesmart/products"
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def product_body(i: int) -> bytes:
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
    if CATEGORIES:
        payload["categories"] = [2]
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

    def __init__(self, port: int, timeout: float = 30):
        self.port = port
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, body: bytes | None, headers: dict) -> int:
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
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


# ------------------------------------------------------------------------------------------- CPU from /proc


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(entry.name))
    return out


class CpuMeter:
    """CPU seconds spent by each group of server processes between `start()` and `stop()`."""

    def __init__(self, groups):
        self.groups = groups  # name -> callable returning the pids now

    def snapshot(self) -> dict[str, dict[int, int]]:
        return {name: {pid: _cpu_ticks(pid) for pid in pids()} for name, pids in self.groups.items()}

    def delta(self, before: dict, after: dict) -> dict[str, float]:
        out = {}
        for name, now in after.items():
            then = before.get(name, {})
            # A process that appeared meanwhile counts from 0 (a new backend); one that vanished is lost.
            out[name] = sum(ticks - then.get(pid, 0) for pid, ticks in now.items()) / TICK
        return out


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f} on {os.cpu_count()} CPUs"


def closed_loop(port: int, make_request, *, seconds: float, limit: int, meter: CpuMeter | None = None) -> dict:
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
            try:
                codes[client.send(*request)] += 1
            except OSError:
                codes["timeout"] += 1
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)
            statuses.update(codes)

    before = meter.snapshot() if meter else {}
    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    cpu = meter.delta(before, meter.snapshot()) if meter else {}
    n = len(latencies)
    return {
        "requests": n,
        "elapsed": elapsed,
        "rps": n / elapsed,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "statuses": dict(statuses),
        "cpu_ms": {name: seconds * 1000 / max(n, 1) for name, seconds in cpu.items()},
    }


def open_loop(port: int, make_request, *, rate: float, seconds: float, meter: CpuMeter | None = None) -> dict:
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
        if time.perf_counter() - scheduled > LATE_GIVE_UP:
            with lock:
                statuses[f"not sent ({LATE_GIVE_UP:.0f} s late)"] += 1
                latencies.append(float("inf"))
            return
        client = getattr(local, "client", None) or Client(port, timeout=LATE_GIVE_UP)
        local.client = client
        request = make_request(i)
        try:
            code = client.send(*request)
        except OSError:
            local.client = None
            code = "timeout"
        latency = time.perf_counter() - scheduled  # from the scheduled time: queueing counts
        with lock:
            latencies.append(latency)
            statuses[code] += 1

    before = meter.snapshot() if meter else {}
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(one, range(total)))
    cpu = meter.delta(before, meter.snapshot()) if meter else {}
    return {
        "requests": total,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "max": max(latencies, default=float("nan")) * 1000,
        "statuses": dict(statuses),
        "cpu_ms": {name: seconds * 1000 / max(total, 1) for name, seconds in cpu.items()},
    }


# ------------------------------------------------------------------------------------------- services


class HangingShop:
    """Accepts connections, reads what is sent and never answers (a shop that hangs)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def stop(self):
        self._stop = True
        self.sock.close()
        for conn in self.conns:
            conn.close()


def _sandbox_module() -> str:
    return "sandboxes.prestashop"


def _start_sandbox_shop() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", _sandbox_module(), "--host", HOST, "--port", str(port), "--key", SHOP_KEY],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return process, f"http://{HOST}:{port}"
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("sandbox shop did not start")


def _start_private_redis(tmp: Path) -> tuple[subprocess.Popen, str] | None:
    binary = shutil.which("redis-server")
    if not binary:
        return None
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return process, f"redis://{HOST}:{port}/0"
        except OSError:
            time.sleep(0.05)
    process.kill()
    return None


def _redis_pid(url: str | None) -> int | None:
    if not (url and url.startswith("redis")):
        return None
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


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


class PostgresBackends:
    """The pids of the server processes serving the bench database (the meter's own session excluded)."""

    def __init__(self, server_url: str, name: str):
        import psycopg

        self.name = name
        self.conn = psycopg.connect(server_url.replace("postgres://", "postgresql://", 1), autocommit=True)
        self.own = self.conn.execute("SELECT pg_backend_pid()").fetchone()[0]

    def __call__(self) -> list[int]:
        rows = self.conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.name,)).fetchall()
        return [pid for (pid,) in rows if pid != self.own]

    def close(self):
        self.conn.close()


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


def _env(tmp: Path, broker: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "CELERY_", "DATABASE_", "CACHE_", "PRESTASHOP_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",  # production settings: no query log, no debug pages
        DJANGO_SECRET_KEY="bench-" + secrets.token_hex(16),
        PRODUCTS_SYNC_DATA_DIR=str(tmp),
        GESMART_WEBHOOK_SECRET=SECRET,
        WEBHOOK_THROTTLE_RATE="10000000/min",
        API_THROTTLE_RATE="10000000/min",
        PRODUCTSUP_ENABLED="0",
        PRESTASHOP_API_KEY=SHOP_KEY,
        PRESTASHOP_URL="http://127.0.0.1:9",  # production settings need one; each mode sets its shop's
        LOG_LEVEL="WARNING",
    )
    if broker:
        env["CELERY_BROKER_URL"] = broker
        if broker.startswith("redis"):
            env["CACHE_URL"] = broker  # the shared cache (throttle, shop facts) on the same server
    return env


def _gunicorn(env: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(
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
    _wait_up(port, process)
    return process, port


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)  # gunicorn's master stops its workers gracefully
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _cpu_text(cpu: dict[str, float]) -> str:
    total = sum(cpu.values())
    parts = " ".join(f"{name} {ms:.2f}" for name, ms in cpu.items())
    return f"CPU ms/request {total:.2f} ({parts})"


def row(name: str, r: dict) -> str:
    return (
        f"{name:<10} {r['requests']:>8} {r['rps']:>9.0f} {r['p50']:>8.1f} {r['p99']:>8.1f}   "
        f"{_cpu_text(r['cpu_ms'])}   {r['statuses']}"
    )


def _refresh_categories(env: dict) -> str:
    """What beat does in production: read the shop's category list into the shared cache (no worker runs)."""
    code = (
        "import django; django.setup()\n"
        "from webhooks.categories import categories_refresh\n"
        "print(categories_refresh(force=True))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or out.stderr.strip()[-300:]


def _mode(name: str, env: dict, groups: dict, offset: int) -> dict:
    if name == "up":
        print(f"category list read into the cache (as beat does): {_refresh_categories(env)}")
    gunicorn, port = _gunicorn(env)
    try:
        meter = CpuMeter({"gunicorn": lambda: [gunicorn.pid, *_children(gunicorn.pid)], **groups})
        print(f"\n--- shop {name} ({env['PRESTASHOP_URL']}) — gunicorn 2 workers on {HOST}:{port}; {_load()}")
        # Warm both paths (imports, first connections, caches) before measuring.
        closed_loop(port, ceiling_request, seconds=0.5, limit=200)
        closed_loop(port, lambda i: signed_request(offset + 90_000 + i), seconds=1.0, limit=200)
        pairs = []
        print(f"{'':<10} {'requests':>8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
        for n in range(REPEAT):
            ceiling = closed_loop(port, ceiling_request, seconds=SECONDS, limit=MAX_REQUESTS, meter=meter)
            webhook = closed_loop(
                port,
                lambda i, n=n: signed_request(offset + n * 20_000 + i),
                seconds=SECONDS,
                limit=MAX_REQUESTS,
                meter=meter,
            )
            pairs.append((ceiling, webhook))
            print(row("ceiling", ceiling))
            print(row("webhook", webhook))
            print(f"           webhook = {webhook['rps'] / ceiling['rps'] * 100:.0f} % of /healthz ({_load()})")
        fixed = open_loop(
            port, lambda i: signed_request(offset + 500_000 + i), rate=RATE, seconds=RATE_SECONDS, meter=meter
        )
        print(
            f"open loop {RATE:.0f}/s for {RATE_SECONDS:.0f} s: {fixed['requests']} deliveries, p50 {fixed['p50']:.1f} "
            f"ms, p99 {fixed['p99']:.1f} ms, max {fixed['max']:.1f} ms (target p99 < 50 ms); "
            f"{_cpu_text(fixed['cpu_ms'])}   {fixed['statuses']}"
        )
        return {"pairs": pairs, "fixed": fixed}
    finally:
        _stop(gunicorn)


def _summary(name: str, result: dict) -> None:
    pairs = result["pairs"]
    share = statistics.median(w["rps"] / c["rps"] * 100 for c, w in pairs)
    accepted = statistics.median(w["rps"] for _, w in pairs)
    ceiling = statistics.median(c["rps"] for c, _ in pairs)
    cpu_w = statistics.median(sum(w["cpu_ms"].values()) for _, w in pairs)
    cpu_c = statistics.median(sum(c["cpu_ms"].values()) for c, _ in pairs)
    fixed = result["fixed"]
    print(
        f"shop {name:<8} median of {len(pairs)}: webhook {accepted:.0f}/s, /healthz {ceiling:.0f}/s, "
        f"share {share:.0f} % (target ≥ 35 %); CPU ms/request webhook {cpu_w:.2f}, /healthz {cpu_c:.2f}; "
        f"p99 at {RATE:.0f}/s {fixed['p99']:.1f} ms"
    )


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="products-sync-bench-webhook-"))
    cleanups = []
    try:
        redis_proc = None
        broker = os.environ.get("BENCH_BROKER_URL")
        if not broker:
            started = _start_private_redis(tmp)
            if started:
                redis_proc, broker = started
                cleanups.append(lambda: (redis_proc.terminate(), redis_proc.wait(10)))
        env = _env(tmp, broker)
        pg_server, pg_name, pg_backends = os.environ.get("BENCH_POSTGRES_URL"), None, None
        if pg_server:
            env["DATABASE_URL"], pg_name = _postgres_create(pg_server)
            cleanups.append(lambda: _postgres_drop(pg_server, pg_name))
        _flush_redis(broker)
        cleanups.append(lambda: _flush_redis(broker))
        subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], env=env, cwd=ROOT, check=True)
        groups = {}
        if pg_name:
            pg_backends = PostgresBackends(pg_server, pg_name)
            cleanups.append(pg_backends.close)
            groups["postgres"] = pg_backends
        redis_pid = _redis_pid(broker)
        if redis_pid:
            groups["redis"] = lambda: [redis_pid]
        db = env.get("DATABASE_URL", "sqlite (temp file)")
        print(
            f"database {db.split('@')[-1]}; broker {(broker or 'embedded').split('@')[-1]}"
            f"{' (private redis-server)' if redis_proc else ''}; cache {env.get('CACHE_URL', 'default')}; "
            f"closed loop {CONCURRENCY} threads × {SECONDS:.0f} s; categories {'[2]' if CATEGORIES else 'none'}; "
            f"client, servers and the machine's other users share {os.cpu_count()} CPUs; {_load()}"
        )
        results = {}
        for index, mode in enumerate(MODES):
            if mode == "up":
                shop_proc, url = _start_sandbox_shop()
                stop_shop = lambda p=shop_proc: (p.terminate(), p.wait(10))  # noqa: E731
            else:
                hanging = HangingShop()
                url, stop_shop = hanging.url, hanging.stop
            try:
                results[mode] = _mode(mode, {**env, "PRESTASHOP_URL": url}, groups, offset=index * 1_000_000)
            finally:
                stop_shop()
        print()
        for mode, result in results.items():
            _summary(mode, result)
        print(
            f"stored: accepted deliveries, sync jobs = {_stored(env)}; messages in the broker's sync queue = "
            f"{_queued(broker)}"
        )
    finally:
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception as exc:  # noqa: BLE001 - clean up what can be cleaned, report the rest
                print(f"cleanup failed: {exc}", file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
