"""Every live answer of every endpoint, for every status code it documents (docs/api.md, Endpoints), validates against
/api/schema/; and the walk covers every documented (operation, status) pair, so schema drift fails here."""

from __future__ import annotations

import json

import pytest

from syncjobs.models import SyncJob
from tests.config.api.openapi import assert_matches_schema, documented_statuses, openapi_document
from tests.factories.catalog import product_payload
from tests.factories.images import image_item
from tests.factories.webhooks import WEBHOOK_URL, sign, webhook_body
from webhooks.categories import categories_refresh

SECRET = "whsec-live-0123456789"
SYNC = "/api/products/sync"
BATCH = "/api/products/sync/batch"
LOGIN = "/api/auth/login"
REFRESH = "/api/auth/refresh"

pytestmark = pytest.mark.django_db
SEEN: set[tuple[str, str, int]] = set()


@pytest.fixture(autouse=True)
def _setup(settings, sandbox_shop):
    settings.GESMART_WEBHOOK_SECRET = SECRET
    assert categories_refresh(force=True)  # the shop's category list in the cache, as beat keeps it


def check(method: str, path: str, response, status: int):
    assert response.status_code == status, response.content
    assert_matches_schema(method, path, response)
    SEEN.add((method, path, status))


def deliver(client, payload=None, *, body=None, content_type="application/json", signature=None):
    body = webhook_body(payload) if body is None else body
    return client.post(
        WEBHOOK_URL,
        data=body,
        content_type=content_type,
        HTTP_X_GESMART_SIGNATURE=signature if signature is not None else sign(body, SECRET),
    )


@pytest.fixture
def crash(monkeypatch):
    """An unexpected exception inside the view: the one way to see the 500 envelope."""

    def boom(*args, **kwargs):
        raise RuntimeError("unexpected")

    def apply(target: str):
        monkeypatch.setattr(target, boom)

    return apply


def test_sync(api_client, anon_client, sandbox_shop, settings, crash):
    check("POST", SYNC, api_client.post_json(SYNC, product_payload(images=[image_item()])), 200)
    check("POST", SYNC, api_client.post_json(SYNC, product_payload(price="1")), 400)
    check("POST", SYNC, anon_client.post_json(SYNC, product_payload()), 401)
    check("POST", SYNC, api_client.post_json(SYNC, product_payload(operation="update", reference="NEW")), 404)
    check("POST", SYNC, api_client.post_json(SYNC, product_payload()), 409)
    check("POST", SYNC, api_client.post(SYNC, data="a=1", content_type="application/x-www-form-urlencoded"), 415)
    check("POST", SYNC, api_client.post_json(SYNC, product_payload(reference="C", categories=[999])), 422)
    sandbox_shop.down = True
    check("POST", SYNC, api_client.post_json(SYNC, product_payload(reference="DOWN", categories=[])), 502)
    sandbox_shop.down = False
    settings.API_MAX_BODY_MB = 0
    check("POST", SYNC, api_client.post_json(SYNC, product_payload()), 413)
    settings.API_MAX_BODY_MB = 150
    crash("syncjobs.apis.product_sync")
    check("POST", SYNC, api_client.post_json(SYNC, product_payload(reference="X")), 500)
    settings.API_THROTTLE_RATE = "1/min"
    api_client.post_json(SYNC, {})
    check("POST", SYNC, api_client.post_json(SYNC, {}), 429)


def test_sync_record(api_client, anon_client, settings, crash):
    api_client.post_json(SYNC, product_payload())
    job = SyncJob.objects.get()
    check("GET", SYNC, api_client.get(f"{SYNC}?syncId={job.sync_id}"), 200)
    check("GET", SYNC, api_client.get(SYNC), 400)
    check("GET", SYNC, anon_client.get(f"{SYNC}?syncId={job.sync_id}"), 401)
    check("GET", SYNC, api_client.get(f"{SYNC}?syncId=nope"), 404)
    crash("syncjobs.apis.job_get_by_sync_id")
    check("GET", SYNC, api_client.get(f"{SYNC}?syncId=x"), 500)
    settings.API_THROTTLE_RATE = "1/min"
    api_client.get(SYNC)
    check("GET", SYNC, api_client.get(SYNC), 429)


def test_delete(api_client, anon_client, sandbox_shop, settings, crash):
    api_client.post_json(SYNC, product_payload())
    api_client.post_json(SYNC, product_payload(reference="P2"))
    check("DELETE", SYNC, api_client.delete(f"{SYNC}?reference=PROD001"), 200)
    check("DELETE", SYNC, api_client.delete(SYNC), 400)
    check("DELETE", SYNC, anon_client.delete(f"{SYNC}?reference=P2"), 401)
    check("DELETE", SYNC, api_client.delete(f"{SYNC}?reference=NOPE"), 404)
    sandbox_shop.down = True
    check("DELETE", SYNC, api_client.delete(f"{SYNC}?reference=P2"), 502)
    sandbox_shop.down = False
    crash("syncjobs.apis.product_delete")
    check("DELETE", SYNC, api_client.delete(f"{SYNC}?reference=P2"), 500)
    settings.API_THROTTLE_RATE = "1/min"
    api_client.delete(SYNC)
    check("DELETE", SYNC, api_client.delete(SYNC), 429)


def test_batch(api_client, anon_client, settings, crash):
    products = [
        product_payload(),
        product_payload(reference="B2", price=-1),
        product_payload(reference="B3", categories=[999]),
    ]
    response = api_client.post_json(BATCH, {"products": products})
    check("POST", BATCH, response, 200)
    assert [r["success"] for r in response.json()["data"]["results"]] == [True, False, False]
    check("POST", BATCH, api_client.post_json(BATCH, {"items": []}), 400)
    check("POST", BATCH, anon_client.post_json(BATCH, {"products": products}), 401)
    check("POST", BATCH, api_client.post(BATCH, data="a=1", content_type="text/plain"), 415)
    settings.API_MAX_BODY_MB = 0
    check("POST", BATCH, api_client.post_json(BATCH, {"products": products}), 413)
    settings.API_MAX_BODY_MB = 150
    crash("syncjobs.apis.products_sync_batch")
    check("POST", BATCH, api_client.post_json(BATCH, {"products": products}), 500)
    settings.API_THROTTLE_RATE = "1/min"
    api_client.post_json(BATCH, {})
    check("POST", BATCH, api_client.post_json(BATCH, {}), 429)


def test_webhook(client, settings, crash):
    check("POST", WEBHOOK_URL, deliver(client, product_payload(operation="update")), 200)
    check("POST", WEBHOOK_URL, deliver(client, {"operation": "delete", "reference": "PROD001"}), 200)
    check("POST", WEBHOOK_URL, deliver(client, product_payload(quantity=-1)), 400)
    check("POST", WEBHOOK_URL, deliver(client, product_payload(), signature="bad"), 401)
    check("POST", WEBHOOK_URL, deliver(client, body=b"a=1", content_type="application/x-www-form-urlencoded"), 415)
    check("POST", WEBHOOK_URL, deliver(client, product_payload(categories=[999])), 422)
    settings.API_MAX_BODY_MB = 0
    check("POST", WEBHOOK_URL, deliver(client, product_payload()), 413)
    settings.API_MAX_BODY_MB = 150
    crash("webhooks.apis.delivery_receive")
    check("POST", WEBHOOK_URL, deliver(client, product_payload()), 500)
    settings.WEBHOOK_THROTTLE_RATE = "1/min"
    deliver(client, {})
    check("POST", WEBHOOK_URL, deliver(client, {}), 429)


def test_login_and_refresh(anon_client, user, settings, crash):
    login = anon_client.post_json(LOGIN, {"username": "erp", "password": "erp-password-123"})
    check("POST", LOGIN, login, 200)
    check("POST", LOGIN, anon_client.post_json(LOGIN, {"username": "erp"}), 400)
    check("POST", LOGIN, anon_client.post_json(LOGIN, {"username": "erp", "password": "wrong"}), 401)
    check("POST", LOGIN, anon_client.post(LOGIN, data="u=1", content_type="text/plain"), 415)
    refresh = login.json()["refresh"]
    check("POST", REFRESH, anon_client.post_json(REFRESH, {"refresh": refresh}), 200)
    check("POST", REFRESH, anon_client.post_json(REFRESH, {}), 400)
    check("POST", REFRESH, anon_client.post_json(REFRESH, {"refresh": "nope"}), 401)
    check("POST", REFRESH, anon_client.post(REFRESH, data="u=1", content_type="text/plain"), 415)
    settings.API_MAX_BODY_MB = 0
    check("POST", LOGIN, anon_client.post_json(LOGIN, {"username": "erp", "password": "x"}), 413)
    check("POST", REFRESH, anon_client.post_json(REFRESH, {"refresh": refresh}), 413)
    settings.API_MAX_BODY_MB = 150
    crash("config.api.auth_views.TokenObtainPairSerializer.is_valid")
    crash("config.api.auth_views.TokenRefreshSerializer.is_valid")
    check("POST", LOGIN, anon_client.post_json(LOGIN, {"username": "erp", "password": "x"}), 500)
    check("POST", REFRESH, anon_client.post_json(REFRESH, {"refresh": refresh}), 500)
    settings.API_THROTTLE_RATE = "1/min"
    anon_client.post_json(LOGIN, {})
    check("POST", LOGIN, anon_client.post_json(LOGIN, {}), 429)
    check("POST", REFRESH, anon_client.post_json(REFRESH, {}), 429)


def test_the_walk_covered_every_documented_status():
    """Runs last in this module: every (operation, status) the schema documents was seen live above."""
    missing = documented_statuses() - SEEN
    assert not missing, f"documented but never exercised live: {sorted(missing)}"


def test_schema_numbers_are_json_numbers():
    product = openapi_document()["components"]["schemas"]["ProductSyncInputRequest"]["properties"]
    for name in ("price", "weight"):
        assert product[name]["type"] == "number" and product[name]["minimum"] == 0
    assert json.dumps(openapi_document())  # serializable as served
