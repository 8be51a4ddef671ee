"""`make run`: the service on one machine with embedded defaults (SQLite, kombu's SQLAlchemy-on-SQLite broker,
the sandbox shops), for a newcomer's first minutes and for development.

Processes are supervised by honcho (`Procfile.dev`: output prefixed per process, Ctrl-C stops them all, one
that dies stops the rest). This module does the parts honcho has no notion of (docs/design.md):

    python -m config.devserver prepare --port 8000   before honcho starts anything: every port it needs is
                                                     free (else one line naming the busy one, exit 1, in well
                                                     under 5 s), `var/dev.env` written once, migrations,
                                                     staff groups, the local admin; prints the process names
    python -m config.devserver banner --port 8000    a Procfile.dev process: waits until the web server, a
                                                     worker (a real task round trip), beat and the sandboxes
                                                     answer, then prints the URLs and logins, last
    python -m config.devserver sandbox NAME          a sandbox with the ports/keys the settings name
    python -m config.devserver beat                  celery beat with its pidfile in the data dir
"""

from __future__ import annotations

import argparse
import errno
import functools
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 180


def data_dir() -> Path:
    return Path(os.environ.get("PRODUCTS_SYNC_DATA_DIR") or ROOT / "var")


def dev_env_write(directory: Path) -> Path:
    """`{directory}/dev.env`: DJANGO_DEBUG=1 and generated dev secrets, written once (settings read it, so every
    `manage.py` command run beside `make run` has the same environment). Secrets an older `make run` kept
    in `secret_key`/`webhook_secret` files are carried over."""
    path = directory / "dev.env"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)

    def kept_or_new(old_file: str) -> str:
        old = directory / old_file
        return old.read_text().strip() if old.is_file() else secrets.token_urlsafe(48)

    path.write_text(
        "# Written once by `make run` (config/devserver.py) for this checkout's development server. Not for production.\n"
        "DJANGO_DEBUG=1\n"
        f"DJANGO_SECRET_KEY={kept_or_new('secret_key')}\n"
        f"GESMART_WEBHOOK_SECRET={kept_or_new('webhook_secret')}\n"
    )
    path.chmod(0o600)
    return path


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _sandboxes() -> dict[str, int]:
    """The sandboxes `make run` starts (those the settings point at), by Procfile.dev name → port."""
    from django.conf import settings

    found = {}
    if settings.PRESTASHOP_URL == f"http://127.0.0.1:{settings.SANDBOX_PRESTASHOP_PORT}":
        found["sandbox-prestashop"] = settings.SANDBOX_PRESTASHOP_PORT
    if settings.PRODUCTSUP_ENABLED and settings.PRODUCTSUP_API_URL.startswith(
        f"http://127.0.0.1:{settings.SANDBOX_PRODUCTSUP_PORT}"
    ):
        found["sandbox-productsup"] = settings.SANDBOX_PRODUCTSUP_PORT
    return found


def busy_port(ports: dict[str, int]) -> tuple[str, int] | None:
    """The first (name, port) that 127.0.0.1 cannot bind, or None."""
    for name, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # As the servers bind: connections left in TIME_WAIT do not count, a listening socket does.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return name, port
                raise
    return None


def _manage(*args: str) -> None:
    # stdout carries only the process names (the Makefile reads them): the commands' output goes to stderr.
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True, stdout=sys.stderr)


def _ensure_admin(directory: Path) -> None:
    """Create the superuser `admin` with a generated password on first start (kept in admin_password)."""
    from django.contrib.auth import get_user_model

    password_file = directory / "admin_password"
    User = get_user_model()
    if password_file.exists() or User.objects.filter(username="admin").exists():
        return
    password = secrets.token_urlsafe(12)
    User.objects.create_superuser("admin", "admin@example.com", password)
    password_file.write_text(password)
    password_file.chmod(0o600)


def _port_free(ports: dict[str, int]) -> bool:
    busy = busy_port(ports)
    if busy:
        name, number = busy
        print(
            f"make run: port {number} ({name}) is already in use — is another `make run` going? "
            f"Stop it, or choose other ports (PORT=..., SANDBOX_PRESTASHOP_PORT=..., SANDBOX_PRODUCTSUP_PORT=...).",
            file=sys.stderr,
        )
    return busy is None


def prepare(port: int) -> int:
    # The web port before anything else (no Django yet: a second `make run` answers at once), then the
    # sandboxes' ports, which the settings decide.
    if not _port_free({"web": port}):
        return 1
    directory = data_dir()
    dev_env_write(directory)
    _django()
    if not _port_free(_sandboxes()):
        return 1
    _manage("migrate", "--noinput", "--verbosity", "0")
    _manage("setup_staff_groups", "--verbosity", "0")
    _ensure_admin(directory)
    (directory / "celerybeat.pid").unlink(missing_ok=True)
    print(" ".join(["web", "worker", "beat", *_sandboxes(), "banner"]))
    return 0


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback servers
            return response.status == 200
    except urllib.error.HTTPError as exc:
        return exc.code < 500 and "readyz" not in url  # a sandbox answering 401/404 is up
    except OSError:
        return False


def _worker_answers() -> bool:
    from config.celery import app

    try:
        return app.send_task("config.ping", queue="sync").get(timeout=3) == "pong"
    except Exception:  # noqa: BLE001 - not yet: the broker or the worker is still starting
        return False


def banner(port: int) -> int:
    _django()
    from django.conf import settings

    base = f"http://127.0.0.1:{port}"
    sandboxes = _sandboxes()
    checks: dict[str, Callable[[], bool]] = {
        "web server": lambda: _answers(f"{base}/readyz"),
        "beat": lambda: (data_dir() / "celerybeat.pid").exists(),
        **{name: functools.partial(_answers, f"http://127.0.0.1:{p}/") for name, p in sandboxes.items()},
        "worker": _worker_answers,
    }
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    waiting = dict(checks)
    while waiting:
        waiting = {name: check for name, check in waiting.items() if not check()}
        if waiting and time.monotonic() > deadline:
            print(f"make run: {', '.join(waiting)} did not answer within {READY_TIMEOUT_SECONDS} s", flush=True)
            return 1
        if waiting:
            time.sleep(0.5)

    password_file = data_dir() / "admin_password"
    shop = settings.PRESTASHOP_URL
    lines = [
        "",
        "Products Sync is running (every process answered):",
        f"  API            {base}/api/   docs {base}/api/docs/  {base}/api/redoc/",
        f"  Admin          {base}/admin/",
        f"  Sandbox shop   {shop}/   (webservice {shop}/api/)"
        if sandboxes.get("sandbox-prestashop")
        else f"  Shop   {shop}",
    ]
    if password_file.exists():
        lines.append(f"  Login          admin / {password_file.read_text().strip()}   (admin and API)")
    lines += [
        f"  Webhook secret {settings.GESMART_WEBHOOK_SECRET}   (in {data_dir() / 'dev.env'}; dev only)",
        "  Commands       .venv/bin/python manage.py ...  (they read the same dev.env)",
        "Ctrl-C stops everything.",
        "",
    ]
    print("\n".join(lines), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)


def sandbox(name: str) -> None:
    _django()
    from django.conf import settings

    directory = data_dir()
    if name == "prestashop":
        args = ["--port", str(settings.SANDBOX_PRESTASHOP_PORT), "--key", settings.PRESTASHOP_API_KEY]
        args += ["--image-max-bytes", str(settings.SANDBOX_PRESTASHOP_IMAGE_MAX_BYTES)]
        args += ["--state-file", str(directory / "sandbox-prestashop.json")]
    else:
        args = [
            "--port",
            str(settings.SANDBOX_PRODUCTSUP_PORT),
            "--state-file",
            str(directory / "sandbox-productsup.json"),
        ]
    os.execv(sys.executable, [sys.executable, "-m", f"sandboxes.{name}", "--host", "127.0.0.1", *args])  # noqa: S606


def beat() -> None:
    pidfile = str(data_dir() / "celerybeat.pid")
    command = [sys.executable, "-m", "celery", "-A", "config", "--quiet", "beat", "-l", "INFO"]
    command += ["--scheduler", "django_celery_beat.schedulers:DatabaseScheduler", "--pidfile", pidfile]
    os.execv(sys.executable, command)  # noqa: S606


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.devserver", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    for step in ("prepare", "banner"):
        sub.add_parser(step).add_argument("--port", type=int, default=8000)
    sub.add_parser("sandbox").add_argument("name", choices=["prestashop", "productsup"])
    sub.add_parser("beat")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_DEBUG", "1")
    if args.step == "prepare":
        return prepare(args.port)
    if args.step == "banner":
        return banner(args.port)
    if args.step == "sandbox":
        sandbox(args.name)
    else:
        beat()
    return 0


if __name__ == "__main__":
    sys.exit(main())
