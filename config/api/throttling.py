"""Rate limits (docs/api.md, Endpoints): per user for the API, per source IP for login and the webhook."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class UserOrIpThrottle(SimpleRateThrottle):
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


class WebhookThrottle(SimpleRateThrottle):
    """`WEBHOOK_THROTTLE_RATE` per source IP."""

    scope = "webhook"

    def get_rate(self):
        return settings.WEBHOOK_THROTTLE_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
