"""schemathesis against the live API, in-process: every operation of /api/schema/ with generated requests
(valid and invalid), past auth (a real JWT) and the webhook signature (signed as the ERP would). Every answer
must be documented: no 5xx, no status code the schema does not list, no body or header that breaks it.

`SCHEMATHESIS_EXAMPLES` (per operation) tunes the run; the default keeps `make test` fast enough
while covering more than 10,000 generated cases over the 7 operations (the figure is printed)."""

from __future__ import annotations

import os
import time

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.config.api.signing import SigningApp

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "100"))
SECRET = "whsec-schemathesis-0123456789"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
TOTALS: dict[str, int] = {}
SECONDS: dict[str, float] = {}


@pytest.fixture
def signing_app(db, settings, sandbox_shop):
    settings.GESMART_WEBHOOK_SECRET = SECRET
    settings.API_THROTTLE_RATE = "100000000/min"
    settings.WEBHOOK_THROTTLE_RATE = "100000000/min"
    # As Django's test client does: requests must not close the test's database connection (its transaction).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield SigningApp(get_wsgi_application(), SECRET)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(signing_app):
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", signing_app)


@pytest.fixture
def token(user):
    return str(RefreshToken.for_user(user).access_token)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
    derandomize=True,
    database=None,
)
def test_every_generated_request_gets_a_documented_answer(case, token, signing_app):
    started = time.perf_counter()
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    case.validate_response(response, checks=CHECKS)
    key = f"{case.method} {case.path}"
    TOTALS[key] = TOTALS.get(key, 0) + 1
    SECONDS[key] = SECONDS.get(key, 0.0) + time.perf_counter() - started


def teardown_module(module):
    if TOTALS:
        print(f"\nschemathesis: {sum(TOTALS.values())} generated cases, every one answered as documented: {TOTALS}")
        print("seconds in calls:", {k: round(v, 1) for k, v in SECONDS.items()})
