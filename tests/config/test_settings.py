"""config/settings.py: importing it writes nothing; production (DJANGO_DEBUG=0) refuses to start without the
shop's URL and key (and Productsup's credentials while it is enabled), in one line; `make run`'s dev.env is
found by every manage.py command."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "a-production-secret-key-0123456789abcdefghijklmnop",
    "PRESTASHOP_URL": "https://shop.example.com",
    "PRESTASHOP_API_KEY": "K" * 32,
    "PRODUCTSUP_ENABLED": "0",
    "DATABASE_URL": "sqlite:///:memory:",
}
SHOW = (
    "import json, config.settings as s; print(json.dumps({'debug': s.DEBUG, 'secret': s.SECRET_KEY, "
    "'shop': s.PRESTASHOP_URL, 'webhook': s.GESMART_WEBHOOK_SECRET}))"
)


def run_python(code: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PRESTASHOP_", "PRODUCTSUP_", "GESMART_"))
    }
    clean.update(PRODUCTS_SYNC_DATA_DIR=str(data_dir), PROMETHEUS_MULTIPROC_DIR=str(data_dir / "metrics"), **env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env", [{"DJANGO_DEBUG": "1"}, PRODUCTION], ids=["debug", "production"])
def test_importing_the_settings_writes_nothing(tmp_path, env):
    data_dir = tmp_path / "var"

    result = run_python(SHOW, data_dir, **env)

    assert result.returncode == 0, result.stderr
    assert not data_dir.exists()


def test_debug_without_make_run_has_a_dev_key_and_no_webhook_secret(tmp_path):
    result = run_python(SHOW, tmp_path / "var", DJANGO_DEBUG="1")

    values = json.loads(result.stdout)
    assert values["debug"] is True
    assert values["secret"].startswith("django-insecure-")
    assert values["webhook"] == ""  # every webhook refused until `make run` (or the operator) sets one


@pytest.mark.parametrize(
    ("unset", "extra"),
    [
        (["PRESTASHOP_URL"], {}),
        (["PRESTASHOP_API_KEY"], {}),
        (["DJANGO_SECRET_KEY", "PRESTASHOP_URL"], {}),
        (["PRODUCTSUP_CLIENT_ID", "PRODUCTSUP_CLIENT_SECRET", "PRODUCTSUP_SITE"], {"PRODUCTSUP_ENABLED": "1"}),
        (
            ["PRODUCTSUP_STREAM_ID", "PRODUCTSUP_STREAM_TOKEN"],
            {"PRODUCTSUP_ENABLED": "1", "PRODUCTSUP_TRANSPORT": "stream"},
        ),
    ],
)
def test_production_without_a_required_setting_stops_with_one_line(tmp_path, unset, extra):
    env = {k: v for k, v in {**PRODUCTION, **extra}.items() if k not in unset}
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PRESTASHOP_", "PRODUCTSUP_", "GESMART_"))
    }
    clean.update(PRODUCTS_SYNC_DATA_DIR=str(tmp_path), **env)

    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("Products Sync cannot start: set ")
    named = lines[0].split("set ", 1)[1].split(" (", 1)[0].split(", ")
    assert named == unset


def test_production_with_productsup_disabled_needs_no_productsup_credentials(tmp_path):
    result = run_python(SHOW, tmp_path / "var", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["shop"] == "https://shop.example.com"


def test_make_runs_dev_env_is_read_and_the_process_environment_wins(tmp_path):
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    (data_dir / "dev.env").write_text("DJANGO_DEBUG=1\nDJANGO_SECRET_KEY=from-dev-env\nGESMART_WEBHOOK_SECRET=hook\n")

    from_file = json.loads(run_python(SHOW, data_dir).stdout)
    overridden = json.loads(run_python(SHOW, data_dir, GESMART_WEBHOOK_SECRET="from-env").stdout)

    assert (from_file["debug"], from_file["secret"], from_file["webhook"]) == (True, "from-dev-env", "hook")
    assert overridden["webhook"] == "from-env"


def test_an_explicit_production_start_ignores_dev_env(tmp_path):
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    (data_dir / "dev.env").write_text("DJANGO_DEBUG=1\nGESMART_WEBHOOK_SECRET=dev-hook\n")

    values = json.loads(run_python(SHOW, data_dir, **PRODUCTION).stdout)

    assert values["debug"] is False
    assert values["webhook"] == ""
