"""Rate limits (docs/api.md, Endpoints): per user for the API, per source IP for login and the webhook.

A fixed-window counter in Django's cache: one key per client and window (`cache.incr`, created with
`cache.add` and the window's lifetime), so a request costs one counter increment whatever the rate, and
the limit is per client across every process that shares the cache. Production shares it: `CACHE_URL` is
Redis (see the README). Under `make run` the default local-memory cache is per process, which is exact there
because `make run` serves the API from one process. A window lets at most the limit through, and at most
twice the limit across a window boundary (the price of one counter instead of a log of timestamps).
If the cache cannot be reached the request is let through (logged): a cache outage must not lose what the
ERP sends.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache as default_cache
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class FixedWindowThrottle(SimpleRateThrottle):
    """`num` requests per `duration` seconds and client, counted in the shared cache."""

    cache = default_cache
    wait_seconds: float | None = None

    def get_rate(self):
        return None  # subclasses read their setting per request

    def allow_request(self, request, view) -> bool:
        rate = self.get_rate()
        if not rate:
            return True
        num, duration = self.parse_rate(rate)
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        now = time.time()
        window = int(now // duration)
        key = f"{ident}:{duration}:{window}"
        try:
            count = self._increment(key, timeout=duration + 1)
        except Exception:  # any cache failure: let the request through, say so
            logger.warning("Throttle cache unavailable; request let through", exc_info=True)
            return True
        if count <= num:
            return True
        self.wait_seconds = max(1.0, (window + 1) * duration - now)
        return False

    def _increment(self, key: str, *, timeout: int) -> int:
        try:
            return self.cache.incr(key)
        except ValueError:  # first request of the window (or the key just expired)
            if self.cache.add(key, 1, timeout=timeout):
                return 1
            return self.cache.incr(key)

    def wait(self) -> float | None:
        return self.wait_seconds


class UserOrIpThrottle(FixedWindowThrottle):
    """`API_THROTTLE_RATE` per authenticated user, or per IP before login."""

    scope = "api"

    def get_rate(self):
        return settings.API_THROTTLE_RATE  # read per request, so an override takes effect at once

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class WebhookThrottle(FixedWindowThrottle):
    """`WEBHOOK_THROTTLE_RATE` per source IP."""

    scope = "webhook"

    def get_rate(self):
        return settings.WEBHOOK_THROTTLE_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
