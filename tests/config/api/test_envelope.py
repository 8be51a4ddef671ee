"""docs/api.md, Envelope, Auth and Endpoints: auth, the envelope on every error, limits."""

from __future__ import annotations

import json

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories.catalog import product_payload

URL = "/api/products/sync"
pytestmark = pytest.mark.django_db


def _is_error_envelope(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["details"], list)
    return body


def test_login_returns_access_and_refresh(anon_client, user):
    response = anon_client.post_json("/api/auth/login", {"username": "erp", "password": "erp-password-123"})

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["access"] and body["refresh"]
    assert body["data"]["access"] == body["access"]


def test_login_with_bad_credentials_is_401(anon_client, user):
    response = anon_client.post_json("/api/auth/login", {"username": "erp", "password": "wrong"})

    _is_error_envelope(response, 401)


def test_login_without_fields_is_400(anon_client, user):
    body = _is_error_envelope(anon_client.post_json("/api/auth/login", {}), 400)
    assert {d["field"] for d in body["details"]} == {"username", "password"}


def test_refresh_gives_a_new_access_token(anon_client, user):
    refresh = str(RefreshToken.for_user(user))
    response = anon_client.post_json("/api/auth/refresh", {"refresh": refresh})

    assert response.status_code == 200
    assert response.json()["access"]


def test_refresh_with_a_bad_token_is_401(anon_client, user):
    _is_error_envelope(anon_client.post_json("/api/auth/refresh", {"refresh": "nope"}), 401)


def test_the_login_token_works_on_the_api(anon_client, user):
    access = anon_client.post_json("/api/auth/login", {"username": "erp", "password": "erp-password-123"}).json()[
        "access"
    ]
    response = anon_client.get(URL, {"syncId": "sync_x"}, HTTP_AUTHORIZATION=f"Bearer {access}")

    assert response.status_code == 404


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_missing_token_is_401_never_403(anon_client, method):
    response = getattr(anon_client, method)(URL)

    _is_error_envelope(response, 401)


def test_invalid_token_is_401(anon_client):
    response = anon_client.post_json(URL, product_payload(), HTTP_AUTHORIZATION="Bearer not-a-jwt")

    _is_error_envelope(response, 401)


def test_batch_requires_a_token(anon_client):
    _is_error_envelope(anon_client.post_json("/api/products/sync/batch", {"products": []}), 401)


def test_wrong_method_is_405_in_the_envelope(api_client):
    _is_error_envelope(api_client.put(URL, data="{}", content_type="application/json"), 405)
    _is_error_envelope(api_client.get("/api/products/sync/batch"), 405)


def test_unknown_api_path_is_404_in_the_envelope(api_client):
    _is_error_envelope(api_client.get("/api/nothing-here"), 404)


def test_body_over_the_limit_is_413(api_client, settings):
    settings.API_MAX_BODY_MB = 1
    body = json.dumps(product_payload(description="x" * (1024 * 1024 + 10)))

    _is_error_envelope(api_client.post(URL, data=body, content_type="application/json"), 413)


def test_rate_limit_is_429_with_retry_after(api_client, settings):
    settings.API_THROTTLE_RATE = "2/min"
    for _ in range(2):
        assert api_client.get(URL, {"syncId": "x"}).status_code == 404

    response = api_client.get(URL, {"syncId": "x"})

    body = _is_error_envelope(response, 429)
    assert int(response["Retry-After"]) >= 1
    assert body["error"] == "Too many requests"


def test_login_is_rate_limited_per_ip(anon_client, user, settings):
    settings.API_THROTTLE_RATE = "1/min"
    anon_client.post_json("/api/auth/login", {"username": "erp", "password": "wrong"})

    response = anon_client.post_json("/api/auth/login", {"username": "erp", "password": "erp-password-123"})

    _is_error_envelope(response, 429)


def test_server_error_is_500_in_the_envelope(api_client, monkeypatch):
    import syncjobs.apis

    def boom(**kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(syncjobs.apis, "job_get_by_sync_id", boom)
    body = _is_error_envelope(api_client.get(URL, {"syncId": "x"}), 500)
    assert "kaboom" not in json.dumps(body)


def test_openapi_schema_and_docs_are_served_offline(client):
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")
    redoc = client.get("/api/redoc/")

    assert schema.status_code == 200 and b"/api/products/sync" in schema.content
    assert docs.status_code == 200 and redoc.status_code == 200
    for page in (docs, redoc):
        html = page.content.decode()
        assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html


def test_readyz_reports_database_and_broker(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["data"]["checks"] == {"database": "ok", "broker": "ok"}
