"""Errors that tell the truth (issue 10): wrong credentials say so; /api/… always answers the envelope,
DEBUG or not; /api/ itself points to the endpoints and the docs."""

from __future__ import annotations

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_wrong_password_says_the_credentials_are_wrong(anon_client, user):
    response = anon_client.post_json("/api/auth/login", {"username": "erp", "password": "wrong"})

    assert response.status_code == 401
    body = response.json()
    assert body["success"] is False
    assert body["error"] == "Invalid username or password"
    assert "token" not in body["error"].lower()


def test_unknown_user_says_the_same(anon_client, db):
    response = anon_client.post_json("/api/auth/login", {"username": "nobody", "password": "x"})

    assert response.status_code == 401
    assert response.json()["error"] == "Invalid username or password"


def test_bad_refresh_token_is_401(anon_client, db):
    response = anon_client.post_json("/api/auth/refresh", {"refresh": "not-a-token"})

    assert response.status_code == 401
    assert response.json()["error"] == "Invalid or expired refresh token"
    assert [d["field"] for d in response.json()["details"]] == ["refresh"]


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/nope"),
        ("post", "/api/products/sync/"),
        ("get", "/api/products/sync/"),
        ("delete", "/api/products/nothing/here"),
        ("get", "/api/schema"),
    ],
)
def test_unknown_api_path_is_the_envelope(api_client, method, path, debug):
    with override_settings(DEBUG=debug):
        response = getattr(api_client, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False and body["error"] == "Not found"
    assert body["details"][0]["message"].startswith(f"No endpoint at {path}")


def test_trailing_slash_points_to_the_real_path(api_client):
    response = api_client.post_json("/api/products/sync/", {})

    assert response.status_code == 404
    assert "Did you mean /api/products/sync?" in [d["message"] for d in response.json()["details"]]


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", ["/api/", "/api"])
def test_api_root_lists_the_endpoints_and_points_to_the_docs(anon_client, path, debug):
    with override_settings(DEBUG=debug):
        response = anon_client.get(path)

    assert response.status_code == 404
    body = response.json()
    assert body["success"] is False
    assert "/api/docs/" in body["error"]
    messages = [d["message"] for d in body["details"]]
    assert any(m.startswith("POST /api/products/sync:") for m in messages)
    assert any(m.startswith("GET /api/postman/") for m in messages)


def test_method_not_allowed_is_405_in_the_envelope(api_client):
    response = api_client.put("/api/products/sync", data="{}", content_type="application/json")

    assert response.status_code == 405
    assert response.json()["success"] is False


@pytest.mark.parametrize("debug", [True, False])
def test_bad_host_header_on_an_api_path_is_the_envelope(anon_client, debug):
    with override_settings(DEBUG=debug):
        response = anon_client.get("/api/products/sync?syncId=x", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"success": False, "error": "Bad request", "details": []}


@pytest.mark.parametrize("debug", [True, False])
def test_crash_outside_drf_on_an_api_path_is_the_envelope(client, monkeypatch, debug):
    def boom(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr("config.api.views.postman_collection", boom)
    client.raise_request_exception = False
    with override_settings(DEBUG=debug):
        response = client.get("/api/postman/")

    assert response.status_code == 500
    assert response.json()["success"] is False
