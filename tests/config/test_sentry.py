"""Sentry (docs/operations.md): with `SENTRY_DSN` an unhandled error reaches the DSN's server as an
envelope; without it the SDK is not initialised at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.httpsink import HttpSink

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    full_env.update(DJANGO_DEBUG="0", DATABASE_URL="sqlite:///:memory:", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=60
    )


def test_unhandled_error_arrives_at_the_dsn():
    with HttpSink() as sink:
        dsn = f"http://publickey@127.0.0.1:{sink.url.rsplit(':', 1)[1]}/42"
        result = run_manage("shell", "-c", "raise RuntimeError('sentry-test-boom')", SENTRY_DSN=dsn)
        assert result.returncode != 0
        received = sink.wait(1)
    envelopes = [r for r in received if r.path == "/api/42/envelope/"]
    assert envelopes, [r.path for r in received]
    items = [json.loads(line) for line in envelopes[0].body.splitlines() if line.strip().startswith(b"{")]
    events = [item for item in items if "exception" in item]
    assert events, items
    exception = events[0]["exception"]["values"][-1]
    assert exception["type"] == "RuntimeError" and exception["value"] == "sentry-test-boom"
    assert "publickey" in envelopes[0].headers.get("X-Sentry-Auth", "")


def test_without_dsn_nothing_is_initialised():
    code = "import sentry_sdk; print('active' if sentry_sdk.get_client().is_active() else 'inactive')"
    result = run_manage("shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "inactive"
    with HttpSink() as sink:
        dsn = f"http://publickey@127.0.0.1:{sink.url.rsplit(':', 1)[1]}/42"
        result = run_manage("shell", "-c", code, SENTRY_DSN=dsn)  # the same check sees it on with a DSN
        assert result.stdout.split()[-1] == "active", result.stdout
