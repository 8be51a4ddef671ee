"""`make run`: everything on one machine with embedded defaults.

Migrates, creates a local admin/API user on first start, then runs the sandbox shops, a Celery worker,
Celery beat and the web server as child processes, prints where to go, and stops them all on Ctrl-C.
No PostgreSQL, Redis or real shop is needed: SQLite and kombu's SQLAlchemy-on-SQLite broker in ./var.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def dev_env_write(data_dir: Path) -> Path:
    """`{data_dir}/dev.env`: DJANGO_DEBUG=1 and generated dev secrets, written once (settings read it, so every
    `manage.py` command run beside `make run` has the same environment). Secrets an older `make run` kept
    in `secret_key`/`webhook_secret` files are carried over."""
    path = data_dir / "dev.env"
    if path.exists():
        return path
    data_dir.mkdir(parents=True, exist_ok=True)

    def kept_or_new(old_file: str) -> str:
        old = data_dir / old_file
        return old.read_text().strip() if old.is_file() else secrets.token_urlsafe(48)

    path.write_text(
        "# Written once by `make run` (config/devserver.py) for this checkout's development server. Not for production.\n"
        "DJANGO_DEBUG=1\n"
        f"DJANGO_SECRET_KEY={kept_or_new('secret_key')}\n"
        f"GESMART_WEBHOOK_SECRET={kept_or_new('webhook_secret')}\n"
    )
    path.chmod(0o600)
    return path


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DJANGO_DEBUG", "1")
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def _ensure_admin(env: dict[str, str], data_dir: Path) -> tuple[str, str] | None:
    """Create `admin` with a generated password on first start; print it again on later starts."""
    password_file = data_dir / "admin_password"
    if password_file.exists():
        return "admin", password_file.read_text().strip()
    password = secrets.token_urlsafe(12)
    code = (
        "from django.contrib.auth import get_user_model; U = get_user_model();\n"
        "import sys\n"
        "if U.objects.filter(username='admin').exists(): sys.exit(3)\n"
        f"U.objects.create_superuser('admin', 'admin@example.com', {password!r})\n"
    )
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env)
    if result.returncode == 3:
        return None
    result.check_returncode()
    password_file.write_text(password)
    password_file.chmod(0o600)
    return "admin", password


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()

    env = _env()
    dev_env_write(Path(env.get("PRODUCTS_SYNC_DATA_DIR") or ROOT / "var"))
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    import django

    django.setup()
    from django.conf import settings

    data_dir = Path(settings.DATA_DIR)
    data_dir.mkdir(parents=True, exist_ok=True)
    _manage("migrate", "--noinput", env=env)
    _manage("setup_staff_groups", env=env)
    credentials = _ensure_admin(env, data_dir)

    py = sys.executable
    celery = [py, "-m", "celery", "-A", "config"]
    children: list[tuple[str, list[str]]] = []
    sandbox_shop = settings.PRESTASHOP_URL == f"http://127.0.0.1:{settings.SANDBOX_PRESTASHOP_PORT}"
    if sandbox_shop:
        children.append(
            (
                "sandbox-prestashop",
                [
                    py,
                    "-m",
                    "sandboxes.prestashop",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(settings.SANDBOX_PRESTASHOP_PORT),
                    "--key",
                    settings.PRESTASHOP_API_KEY,
                    "--image-max-bytes",
                    str(settings.SANDBOX_PRESTASHOP_IMAGE_MAX_BYTES),
                    "--state-file",
                    str(data_dir / "sandbox-prestashop.json"),
                ],
            )
        )
    sandbox_pup = settings.PRODUCTSUP_API_URL.startswith(f"http://127.0.0.1:{settings.SANDBOX_PRODUCTSUP_PORT}")
    if sandbox_pup and settings.PRODUCTSUP_ENABLED:
        children.append(
            (
                "sandbox-productsup",
                [
                    py,
                    "-m",
                    "sandboxes.productsup",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(settings.SANDBOX_PRODUCTSUP_PORT),
                    "--state-file",
                    str(data_dir / "sandbox-productsup.json"),
                ],
            )
        )
    children += [
        ("worker", [*celery, "worker", "-l", "INFO", "--concurrency", "2", "-Q", "sync,bulk,exports"]),
        (
            "beat",
            [
                *celery,
                "beat",
                "-l",
                "INFO",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
                "--pidfile",
                str(data_dir / "celerybeat.pid"),
            ],
        ),
        ("web", [py, "manage.py", "runserver", f"{args.host}:{args.port}", "--noreload"]),
    ]

    processes: list[tuple[str, subprocess.Popen]] = []
    for name, command in children:
        processes.append((name, subprocess.Popen(command, cwd=ROOT, env=env)))
        if name.startswith("sandbox"):
            time.sleep(0.5)

    base = f"http://{args.host}:{args.port}"
    lines = [
        "",
        "Products Sync is running:",
        f"  API            {base}/api/  (docs: {base}/api/docs/ , {base}/api/redoc/)",
        f"  Admin          {base}/admin/",
        f"  Sandbox shop   {settings.PRESTASHOP_URL}/  (webservice {settings.PRESTASHOP_URL}/api/)"
        if sandbox_shop
        else f"  PrestaShop     {settings.PRESTASHOP_URL}",
    ]
    if credentials:
        lines.append(f"  Login          username {credentials[0]!r}  password {credentials[1]!r}  (admin and API)")
    lines.append(
        f"  Webhook secret {settings.GESMART_WEBHOOK_SECRET}  (dev only; set GESMART_WEBHOOK_SECRET in production)"
    )
    lines.append("Ctrl-C stops everything.\n")
    print("\n".join(lines), flush=True)

    def stop(*_):
        for _, proc in processes:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.time() + 10
        for _, proc in processes:
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while True:
        for name, proc in processes:
            if proc.poll() is not None:
                print(f"{name} exited with code {proc.returncode}; stopping.", flush=True)
                stop()
        time.sleep(1)


if __name__ == "__main__":
    main()
