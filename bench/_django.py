"""Boot Django for a benchmark on a throwaway SQLite database (never the developer's `var/`)."""

from __future__ import annotations

import os
import tempfile


def setup(**env: str) -> None:
    data_dir = tempfile.mkdtemp(prefix="products-sync-bench-")
    os.environ["PRODUCTS_SYNC_DATA_DIR"] = data_dir
    os.environ.pop("DATABASE_URL", None)
    # Production mode: DEBUG would record every SQL query in memory and slow the service down.
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnop")
    # Production settings have no shop defaults; the callers point these at their sandbox.
    os.environ.setdefault("PRESTASHOP_URL", "http://127.0.0.1:8081")
    os.environ.setdefault("PRESTASHOP_API_KEY", "SANDBOXKEYSANDBOXKEYSANDBOXKEY32")
    os.environ.setdefault("PRODUCTSUP_ENABLED", "0")
    os.environ.setdefault("STATIC_MANIFEST", "0")
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.update(env)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
