"""The fixed-window throttle: one counter per client and window in the shared cache (docs/api.md, Endpoints: 429 with
Retry-After), so the limit holds per client whatever process answers."""

from __future__ import annotations

import secrets
from unittest import mock

import pytest
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.test import APIRequestFactory

from config.api.throttling import WebhookThrottle
from config.cache import RedisCache
from tests.e2e.realservices import fixture_real_broker  # noqa: F401 - registered as real_broker

factory = APIRequestFactory()


def _request(ip: str):
    return factory.post("/api/webhooks/gesmart/products", REMOTE_ADDR=ip)


def _throttle(cache) -> WebhookThrottle:
    throttle = WebhookThrottle()
    throttle.cache = cache
    return throttle


def test_fixed_window_counts_per_client_and_resets_with_the_window(settings):
    settings.WEBHOOK_THROTTLE_RATE = "3/min"
    cache = LocMemCache(f"throttle-{secrets.token_hex(4)}", {})
    with mock.patch("config.api.throttling.time.time", return_value=6_000_030.0):
        allowed = [_throttle(cache).allow_request(_request("10.1.1.1"), None) for _ in range(4)]
        refused = _throttle(cache)
        assert refused.allow_request(_request("10.1.1.1"), None) is False
        assert _throttle(cache).allow_request(_request("10.1.1.2"), None) is True  # another client
    assert allowed == [True, True, True, False]
    assert refused.wait() == 30.0  # the window ends in 30 s: Retry-After
    with mock.patch("config.api.throttling.time.time", return_value=6_000_060.0):
        assert _throttle(cache).allow_request(_request("10.1.1.1"), None) is True  # a new window


def test_limit_holds_across_two_cache_clients_as_two_processes_have_them(settings, real_broker):
    """Two cache clients (each its own connection pool, as each gunicorn worker has) share one limit; the
    service's Redis backend (one Redis client per pool) is the one production uses."""
    settings.WEBHOOK_THROTTLE_RATE = "5/min"
    ip = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    prefix = f"throttle-test-{secrets.token_hex(4)}"
    first, second = (RedisCache(real_broker, {"KEY_PREFIX": prefix}) for _ in range(2))
    try:
        answers = [
            _throttle(cache).allow_request(_request(ip), None)
            for cache in (first, second, first, second, first, second)
        ]
        assert answers == [True, True, True, True, True, False]
        assert _throttle(first).allow_request(_request(ip), None) is False
    finally:
        first.clear()


def test_cache_down_lets_the_request_through(settings, caplog):
    settings.WEBHOOK_THROTTLE_RATE = "1/min"
    broken = RedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 0.2}})
    assert _throttle(broken).allow_request(_request("10.9.9.9"), None) is True
    assert "Throttle cache unavailable" in caplog.text


@pytest.mark.django_db
def test_api_answers_429_with_retry_after_from_the_window(api_client, settings):
    from django.core.cache import cache

    settings.API_THROTTLE_RATE = "2/min"
    cache.clear()
    codes = [api_client.get("/api/products/sync?syncId=nope").status_code for _ in range(3)]
    assert codes == [404, 404, 429]
    response = api_client.get("/api/products/sync?syncId=nope")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["success"] is False
