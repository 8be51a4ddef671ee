"""JSON logs of a real worker process (docs/operations.md, Logs): a sync through the API and one through the webhook
produce worker lines that are JSON objects carrying the job's `sync_id` and the ERP request's `request_id`,
and no secret, token, signature or image bytes appear in any line of the run."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from config.logs import logging_config
from syncjobs.models import SyncJob, SyncStatus
from tests.e2e.realservices import (  # noqa: F401 - fixtures, registered as real_broker, realservices…
    SANDBOX_KEY,
    WEBHOOK_SECRET,
    fixture_real_broker,
    fixture_realservices,
    fixture_sandbox,
    fixture_workers,
    wait_for,
)
from tests.factories.catalog import product_payload
from tests.factories.images import image_item
from tests.factories.webhooks import WEBHOOK_URL, sign, webhook_payload

pytestmark = [pytest.mark.realservices, pytest.mark.django_db(transaction=True)]


def json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "the worker wrote nothing"
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
    return parsed


@pytest.fixture
def web_log():
    """The test process plays the web server: capture its lines with the service's JSON formatter."""
    import io

    config = logging_config(log_format="json", level="DEBUG")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    formatter_conf = dict(config["formatters"]["json"])
    factory = formatter_conf.pop("()")
    module, _, name = factory.rpartition(".")
    handler.setFormatter(getattr(__import__(module, fromlist=[name]), name)(**formatter_conf))
    from config.logs import ContextFilter

    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def test_worker_lines_are_json_with_sync_id_and_request_id(workers, sandbox, settings, django_user_model, web_log):
    settings.SYNC_RETRY_BASE_SECONDS = 0.2
    settings.SYNC_RETRY_MAX_SECONDS = 1
    worker = workers.start("logs")
    user = django_user_model.objects.create_user(username="erp", password="erp-password-123")
    token = str(RefreshToken.for_user(user).access_token)
    image = image_item("front.png")

    # Through the API: the shop fails the synchronous attempt (502), so the worker's retry finishes it.
    sandbox.fail_next(4, 503)
    api = Client().post(
        "/api/products/sync",
        data=json.dumps(product_payload(reference="LOG-API", categories=..., images=[image])),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_REQUEST_ID="erp-call-api-1",
    )
    assert api.status_code == 502, api.content
    assert api["X-Request-ID"] == "erp-call-api-1"
    api_sync_id = api.json()["data"]["syncId"]

    # Through the webhook: stored, queued, run by the worker.
    body = json.dumps(webhook_payload(reference="LOG-HOOK")).encode()
    signature = sign(body, WEBHOOK_SECRET)
    hook = Client().post(
        WEBHOOK_URL,
        data=body,
        content_type="application/json",
        HTTP_X_GESMART_SIGNATURE=signature,
        HTTP_X_REQUEST_ID="erp-call-hook-1",
    )
    assert hook.status_code == 200, hook.content
    hook_sync_id = hook.json()["data"]["syncId"]

    wait_for(lambda: SyncJob.objects.filter(status=SyncStatus.COMPLETED).count() == 2, timeout=60, what="both jobs")
    wait_for(lambda: "succeeded" in worker.output().split(hook_sync_id)[-1], timeout=20, what="task success line")

    workers.stop_all()  # its shutdown notices are log lines too
    lines = json_lines(worker.output())
    for line in lines:
        assert {"timestamp", "level", "logger", "message"} <= line.keys(), line
        assert "T" in line["timestamp"] and line["timestamp"].endswith("+00:00")
    for sync_id, request_id in ((api_sync_id, "erp-call-api-1"), (hook_sync_id, "erp-call-hook-1")):
        tagged = [line for line in lines if line.get("sync_id") == sync_id]
        shop_calls = [line for line in tagged if line["logger"].startswith("connectors.prestashop")]
        assert shop_calls, f"no shop call logged for {sync_id}:\n{worker.output()[-3000:]}"
        assert all(line.get("request_id") == request_id for line in tagged), tagged
        assert {line.get("reference") for line in tagged} == {"LOG-API" if sync_id == api_sync_id else "LOG-HOOK"}
        # The task's own lines (received → succeeded) carry the job too.
        assert any("succeeded" in line["message"] for line in tagged), tagged

    # Nothing secret in any line of the run: worker and web side.
    everything = worker.output() + web_log.getvalue()
    assert "LOG-API" in web_log.getvalue()  # the web side's lines were captured
    for secret in (token, signature, WEBHOOK_SECRET, SANDBOX_KEY, image["base64"][:40], settings.SECRET_KEY):
        assert secret not in everything
