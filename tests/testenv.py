"""Test-process environment, set before Django's settings load.

Unit tests use an in-memory broker so nothing they enqueue leaks to a real one; the tests marked
`realservices` talk to the real broker named by CELERY_BROKER_URL (kept here as REAL_CELERY_BROKER_URL)
and to PostgreSQL through DATABASE_URL.
"""

import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789")
os.environ.setdefault("PRODUCTS_SYNC_DATA_DIR", tempfile.mkdtemp(prefix="products-sync-test-"))
os.environ.setdefault("STATIC_MANIFEST", "0")
# Threads of the test process (live server, batch pool) must not keep connections open after a request.
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
os.environ.setdefault("GESMART_WEBHOOK_SECRET", "test-webhook-secret-0123456789abcdef")
# Tests run with DJANGO_DEBUG off, where these have no default; the sandboxes' values (fixtures point the
# URLs at a sandbox started per test).
for _name, _value in {
    "PRESTASHOP_URL": "http://127.0.0.1:8081",
    "PRESTASHOP_API_KEY": "SANDBOXKEYSANDBOXKEYSANDBOXKEY32",
    "PRODUCTSUP_CLIENT_ID": "1234",
    "PRODUCTSUP_CLIENT_SECRET": "sandbox-secret",
    "PRODUCTSUP_SITE": "123",
    "PRODUCTSUP_STREAM_ID": "1000",
    "PRODUCTSUP_STREAM_TOKEN": "sandbox-stream-token",
}.items():
    os.environ.setdefault(_name, _value)
if "REAL_CELERY_BROKER_URL" not in os.environ:
    os.environ["REAL_CELERY_BROKER_URL"] = os.environ.get("CELERY_BROKER_URL", "")
os.environ["CELERY_BROKER_URL"] = "memory://"
