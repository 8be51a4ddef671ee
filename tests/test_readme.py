"""The README, run as a newcomer runs it: `make run` in a fresh data dir, its banner, a second `make run`, the
five-minute tour and every row of the command table, each in its own process with a make-run-like
environment (no test settings), asserting that each does what the README says."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BANNER_END = "Ctrl-C stops everything."
SANDBOX_KEY = "SANDBOXKEYSANDBOXKEYSANDBOXKEY32"
# What a newcomer's terminal does not have: this test process's own settings.
TEST_ONLY = ("DJANGO_", "DATABASE_", "CELERY_", "CACHE_", "PRESTASHOP_", "PRODUCTSUP_", "GESMART_", "SYNC_", "PYTEST")
TEST_ONLY += ("REAL_CELERY", "STATIC_MANIFEST", "PROMETHEUS_", "SENTRY_", "LOG_", "API_", "WEBHOOK_", "PRODUCTS_SYNC")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MakeRun:
    def __init__(self, tmp: Path) -> None:
        self.data = tmp / "var"
        self.port, self.shop_port, self.pup_port = free_port(), free_port(), free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(TEST_ONLY)}
        self.env.update(
            PRODUCTS_SYNC_DATA_DIR=str(self.data),
            PORT=str(self.port),
            SANDBOX_PRESTASHOP_PORT=str(self.shop_port),
            SANDBOX_PRODUCTSUP_PORT=str(self.pup_port),
        )
        self.log = tmp / "make-run.log"
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 240) -> str:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                ["make", "run"], cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while BANNER_END not in (text := self.log.read_text(errors="replace")):
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"make run did not print its banner:\n{text[-3000:]}")
            time.sleep(0.5)
        return text

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def sh(self, command: str, **env: str) -> subprocess.CompletedProcess:
        """A README command, as written, in a shell in the checkout."""
        return subprocess.run(
            command, shell=True, cwd=ROOT, env={**self.env, **env}, capture_output=True, text=True, timeout=180
        )

    def login(self, username: str, password: str) -> requests.Response:
        return requests.post(
            f"{self.base}/api/auth/login", json={"username": username, "password": password}, timeout=30
        )

    def shop_products(self, reference: str) -> str:
        url = f"http://127.0.0.1:{self.shop_port}/api/products?filter[reference]=[{reference}]&display=[id,reference]"
        return requests.get(url, auth=(SANDBOX_KEY, ""), timeout=30).text


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    run = MakeRun(tmp_path_factory.mktemp("readme"))
    run.banner = run.start()
    yield run
    run.stop()


def banner_password(text: str) -> str:
    return re.search(r"Login\s+admin / (\S+)", text).group(1)


def command_table() -> list[str]:
    table = README.split("From the command line", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", table, flags=re.M)


def variants(row: str) -> list[str]:
    """The row without its optional parts, then with each optional flag that needs no value."""
    base = re.sub(r"\s*\[[^\]]*\]", "", row).replace("NAME", "erp-readme")
    flags = [f for f in re.findall(r"\[([^\]]+)\]", row) if re.fullmatch(r"--[a-z-]+", f)]
    return [base] + [f"{base} {flag}" for flag in flags]


def test_the_banner_comes_last_once_everything_answers(make_run):
    text = make_run.banner
    banner_at = text.index("Products Sync is running")
    assert text.index("celery@") < banner_at  # the worker's start-up is above it
    assert text.index("Starting development server") < banner_at
    assert "Traceback" not in text
    assert requests.get(f"{make_run.base}/readyz", timeout=30).status_code == 200
    assert requests.get(f"http://127.0.0.1:{make_run.shop_port}/", timeout=30).status_code == 200
    assert f"{make_run.base}/admin/" in text[banner_at:]


def test_a_second_make_run_stops_at_once_naming_the_busy_port(make_run):
    started = time.monotonic()
    result = make_run.sh("make run")
    elapsed = time.monotonic() - started

    assert result.returncode != 0
    assert elapsed < 5
    ours = [line for line in result.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)]
    assert ours == [ours[0]] and f"port {make_run.port} (web) is already in use" in ours[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert "Products Sync is running" not in result.stdout


def test_the_five_minute_tour(make_run):
    password = banner_password(make_run.banner)
    token = make_run.login("admin", password).json()["access"]
    headers = {"Authorization": f"Bearer {token}"}
    tour = README.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    product = json.loads(re.search(r"-d '(\{\"operation\": \"create\".*?\})'", tour, flags=re.S).group(1))

    synced = requests.post(f"{make_run.base}/api/products/sync", json=product, headers=headers, timeout=60)
    record = requests.get(
        f"{make_run.base}/api/products/sync",
        params={"syncId": synced.json()["data"]["syncId"]},
        headers=headers,
        timeout=30,
    )

    assert synced.status_code == 200, synced.text
    assert record.json()["data"]["reference"] == "PROD001"
    assert "<reference><![CDATA[PROD001]]></reference>" in make_run.shop_products("PROD001")

    # The signed webhook, with the secret read from var/dev.env as the README shows.
    # (The README's `var/` is the default data dir; this run has its own.)
    secret_command = re.search(r"SECRET=\$\((.+)\)\n", tour).group(1).replace("var/", f"{make_run.data}/")
    secret = make_run.sh(secret_command).stdout.strip()
    payload = re.search(r"PAYLOAD='(.+)'\n", tour).group(1).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), payload, hashlib.sha256).digest()).decode()
    delivered = requests.post(
        f"{make_run.base}/api/webhooks/gesmart/products",
        data=payload,
        headers={"Content-Type": "application/json", "x-gesmart-signature": signature},
        timeout=30,
    )
    assert delivered.status_code == 200, delivered.text


def test_every_command_of_the_table_runs_as_written(make_run):
    rows = command_table()
    assert len(rows) >= 6
    ran = {}
    for row in rows:
        for command in variants(row):
            if command == "make superuser":
                result = make_run.sh(
                    'make superuser ARGS="--noinput --username readme-boss --email boss@example.com"',
                    DJANGO_SUPERUSER_PASSWORD="a-long-boss-password-42",
                )
            else:
                result = make_run.sh(command)
            assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
            ran[command] = result.stdout

    resync = ".venv/bin/python manage.py resync --reference PROD001"
    assert ran[resync].startswith("PROD001: completed") and ran[f"{resync} --force"].startswith("PROD001: completed")
    assert re.search(r"Resync #\d+: 1 checked", ran[".venv/bin/python manage.py resync --all"])
    assert re.search(r"Dry run #\d+: 1 checked", ran[".venv/bin/python manage.py resync --all --dry-run"])

    create = ".venv/bin/python manage.py create_api_user erp-readme"
    first, reset = ran[create], ran[f"{create} --reset"]
    assert "Created API user 'erp-readme'." in first and "Reset the password" in reset
    old, new = first.split("Password: ")[1].strip(), reset.split("Password: ")[1].strip()
    assert make_run.login("erp-readme", new).status_code == 200
    assert make_run.login("erp-readme", old).status_code == 401

    # make superuser made a superuser: the admin login works, and create_api_user refuses to touch it.
    assert make_run.login("readme-boss", "a-long-boss-password-42").status_code == 200
    refused = make_run.sh(".venv/bin/python manage.py create_api_user readme-boss --reset")
    assert refused.returncode != 0 and "staff or superuser" in refused.stderr
