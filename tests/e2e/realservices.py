"""Fixtures for the tests that run the asynchronous pipeline on real services: PostgreSQL, Redis and
real `celery worker` processes, against the sandbox PrestaShop over real HTTP.

They skip (with the reason) unless the test database is PostgreSQL and a Redis broker is configured
(`CELERY_BROKER_URL`, which `tests/testenv.py` keeps as `REAL_CELERY_BROKER_URL` before pointing the test
process at an in-memory broker). The tests use a Redis database of their own (`REALSERVICES_REDIS_DB`,
default 5), flushed before and after each test, so they never touch the broker of anything else.

Imported by the test module (not a conftest: tests/e2e is shared). The fixture functions are named
`fixture_<name>` and registered as `<name>`, so importing them does not clash with test arguments.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

__all__ = [
    "PrivateRedis",
    "fixture_private_redis",
    "fixture_private_services",
    "fixture_private_workers",
    "fixture_real_broker",
    "fixture_realservices",
    "fixture_sandbox",
    "fixture_workers",
    "wait_for",
    "WorkerPool",
]

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
SANDBOX_KEY = "REALSVCKEYREALSVCKEYREALSVCKEY32"
WEBHOOK_SECRET = "realservices-webhook-secret-0123456789"


def wait_for(predicate: Callable[[], object], *, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _redis_url() -> str | None:
    url = os.environ.get("REAL_CELERY_BROKER_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        return None
    db = os.environ.get("REALSERVICES_REDIS_DB", "5")
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))


@pytest.fixture(scope="session", name="real_broker")
def fixture_real_broker() -> str:
    """The Redis URL of the tests' own database, or a skip saying why there is none."""
    url = _redis_url()
    if url is None:
        pytest.skip("needs a Redis broker: set CELERY_BROKER_URL=redis://… (it is kept as REAL_CELERY_BROKER_URL)")
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"CELERY_BROKER_URL is set but Redis does not answer: {exc}")
    finally:
        client.close()
    return url


def _flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@pytest.fixture(name="realservices")
def fixture_realservices(transactional_db, real_broker, settings, monkeypatch):
    """PostgreSQL (committed rows, so other processes see them) and the test process's Celery app
    publishing to the real broker. Yields the broker URL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL (DATABASE_URL=postgres://…); the test database is {connection.vendor}")
    from config.celery import app

    _flush(real_broker)
    settings.GESMART_WEBHOOK_SECRET = WEBHOOK_SECRET
    previous = app.conf.broker_url
    # Celery reads CELERY_BROKER_URL from the environment before its own configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", real_broker)
    point_app(app, real_broker)
    try:
        yield real_broker
    finally:
        monkeypatch.setenv("CELERY_BROKER_URL", previous)
        point_app(app, previous)
        _flush(real_broker)


def point_app(app, url: str) -> None:
    """Make the Celery app publish to `url` from now on (drop pooled connections to the old broker)."""
    app.conf.broker_url = url
    app.conf.broker_write_url = url
    app.conf.broker_read_url = url
    from kombu import pools

    pools.reset()  # close and forget kombu's pooled connections (they are shared per broker URL)
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(name="sandbox")
def fixture_sandbox(settings):
    """The sandbox PrestaShop, in this process, on a free loopback port."""
    from sandboxes.prestashop import SandboxPrestaShop

    shop = SandboxPrestaShop(host="127.0.0.1", port=0, api_key=SANDBOX_KEY)
    shop.start()
    settings.PRESTASHOP_URL = shop.url
    settings.PRESTASHOP_API_KEY = SANDBOX_KEY
    settings.PRESTASHOP_PUBLIC_URL = shop.url
    settings.PRODUCTSUP_ENABLED = False
    try:
        yield shop
    finally:
        shop.stop()


def _database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s.get("HOST") or "127.0.0.1"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{quote(s['NAME'], safe='')}"


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def children(self) -> list[int]:
        """The pool's child processes (from /proc: no `ps` needed)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # the process ended meanwhile
            if int(fields[1]) == self.process.pid:
                found.append(int(stat.parent.name))
        return found

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class WorkerPool:
    """Real `celery -A config worker` processes, each a prefork pool, started against the test database."""

    broker_url: str
    shop_url: str
    tmp: Path
    started: list[Worker] = field(default_factory=list)
    # Only what a production operator sets (no test shortcuts for retries and timeouts).
    operator_only: bool = False

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "CELERY_", "PRESTASHOP_", "PRODUCTSUP_", "SYNC_", "PYTEST_"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY="realservices-" + secrets.token_hex(16),
            DATABASE_URL=_database_url(),
            CELERY_BROKER_URL=self.broker_url,
            PRODUCTS_SYNC_DATA_DIR=str(self.tmp),
            PRESTASHOP_URL=self.shop_url,
            PRESTASHOP_API_KEY=SANDBOX_KEY,
            PRESTASHOP_PUBLIC_URL=self.shop_url,
            PRODUCTSUP_ENABLED="0",
            GESMART_WEBHOOK_SECRET=WEBHOOK_SECRET,
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        if not self.operator_only:
            env.update(
                PRESTASHOP_TIMEOUT="10",
                # Retries come back within a second or two, and a storm never runs out of attempts.
                SYNC_RETRY_BASE_SECONDS="0.2",
                SYNC_RETRY_MAX_SECONDS="1",
                SYNC_MAX_ATTEMPTS="40",
            )
        env.update(extra)
        return env

    def start(self, name: str, *, concurrency: int = 1, wait: bool = True, **env: str) -> Worker:
        log = self.tmp / f"{name}-{len(self.started)}.log"
        handle = log.open("wb")
        process = subprocess.Popen(
            [
                str(CELERY),
                "-A",
                "config",
                "worker",
                "-n",
                f"{name}@%h",
                "-Q",
                "sync,bulk,exports",
                "--pool=prefork",
                f"--concurrency={concurrency}",
                "-l",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env(**env),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        worker = Worker(name=name, process=process, log=log)
        self.started.append(worker)
        if wait:
            self.wait_ready(worker)
        return worker

    def wait_ready(self, worker: Worker, timeout: float = 30) -> None:
        def ready():
            if not worker.alive():
                pytest.fail(f"worker {worker.name} exited with {worker.process.returncode}:\n{worker.output()[-4000:]}")
            return " ready." in worker.output()

        wait_for(ready, timeout=timeout, what=f"worker {worker.name} to be ready")

    def kill(self, worker: Worker) -> None:
        """SIGKILL the whole worker: main process and pool children, no warm or cold shutdown."""
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait(timeout=10)

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.alive():
                worker.process.send_signal(signal.SIGQUIT)  # cold shutdown: every job is finished by now
        deadline = time.monotonic() + 10
        for worker in self.started:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                worker.process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                pass
            if worker.alive() or worker.children():
                try:
                    os.killpg(worker.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                worker.process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {w.name} ---\n{w.output()[-3000:]}" for w in self.started)


@pytest.fixture(name="workers")
def fixture_workers(realservices, sandbox):
    """Start workers with `workers.start(name)`; all are stopped before the database is flushed."""
    with tempfile.TemporaryDirectory(prefix="products-sync-workers-") as tmp:
        pool = WorkerPool(broker_url=realservices, shop_url=sandbox.url, tmp=Path(tmp))
        try:
            yield pool
        finally:
            pool.stop_all()
            print(pool.logs())  # shown by pytest only when the test failed


@dataclass
class PrivateRedis:
    """A redis-server of the test's own (loopback, no persistence), which the test may stop, start and flush."""

    port: int
    tmp: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=2)

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def up():
            try:
                return self.client().ping()
            except Exception:  # noqa: BLE001 - not listening yet
                return False

        wait_for(up, timeout=10, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def flush(self) -> None:
        self.client().flushdb()


def _free_port() -> int:
    """A free loopback port (the OS picks it)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(name="private_redis")
def fixture_private_redis():
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server (Debian package redis-server)")
    with tempfile.TemporaryDirectory(prefix="products-sync-redis-") as tmp:
        server = PrivateRedis(port=_free_port(), tmp=Path(tmp))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(name="private_services")
def fixture_private_services(transactional_db, private_redis, settings, monkeypatch):
    """Like `realservices`, on a private redis-server: the test process publishes there."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL (DATABASE_URL=postgres://…); the test database is {connection.vendor}")
    from config.celery import app

    settings.GESMART_WEBHOOK_SECRET = WEBHOOK_SECRET
    previous = app.conf.broker_url
    monkeypatch.setenv("CELERY_BROKER_URL", private_redis.url)
    point_app(app, private_redis.url)
    try:
        yield private_redis
    finally:
        monkeypatch.setenv("CELERY_BROKER_URL", previous)
        point_app(app, previous)


@pytest.fixture(name="private_workers")
def fixture_private_workers(private_services, sandbox):
    """Workers on the private redis-server with only what an operator sets: `private_workers.start(name)`."""
    with tempfile.TemporaryDirectory(prefix="products-sync-workers-") as tmp:
        pool = WorkerPool(broker_url=private_services.url, shop_url=sandbox.url, tmp=Path(tmp), operator_only=True)
        try:
            yield pool
        finally:
            pool.stop_all()
            print(pool.logs())
            for worker in pool.started:  # what the recovery sweeper did, in full
                print("\n".join(line for line in worker.output().splitlines() if "ecovery" in line))
                if os.environ.get("REALSERVICES_KEEP_LOGS"):
                    Path(os.environ["REALSERVICES_KEEP_LOGS"], worker.log.name).write_text(worker.output())
