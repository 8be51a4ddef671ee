"""Request ids in logs, and the body-size limit answered in the API envelope before the body is read."""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus

from django.conf import settings
from django.dispatch import Signal

from config.logs import log_context, log_context_get

from .envelope import error_response

logger = logging.getLogger(__name__)

# Sent with `request`, `size` (declared bytes) and `limit` (bytes) when a body over API_MAX_BODY_MB is refused
# with 413 before it is read; the webhooks app keeps a delivery row for it (docs/api.md, Webhook keeps every delivery).
body_too_large = Signal()


def current_request_id() -> str:
    return log_context_get().get("request_id", "-")


def _is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def _is_html(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


def _as_envelope(response):
    """An HTML error page produced below us for an API path (Django's DEBUG pages for a bad Host header, a
    crash outside DRF…) becomes docs/api.md's envelope: no HTML error page ever reaches an API client."""
    status = response.status_code
    try:
        reason = HTTPStatus(status).phrase.capitalize()  # "Bad request", "Not found", "Internal server error"
    except ValueError:
        reason = "Request failed"
    return error_response(status, reason)


class RequestIdMiddleware:
    """Tags every log line with a request id (taken from `X-Request-ID` when a proxy sets one)
    and refuses API bodies over `API_MAX_BODY_MB` with a 413 envelope before reading them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        rid = incoming[:64] if incoming and incoming.isprintable() else uuid.uuid4().hex
        with log_context(request_id=rid):
            if request.path.startswith("/api/"):
                too_big = self._too_big(request)
                if too_big is not None:
                    return too_big
            response = self.get_response(request)
            if response.status_code >= 400 and _is_api_path(request.path) and _is_html(response):
                response = _as_envelope(response)
            response["X-Request-ID"] = rid
            return response

    @staticmethod
    def _too_big(request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "Invalid Content-Length header")
        limit = settings.API_MAX_BODY_MB * 1024 * 1024
        if length > limit:
            for _receiver, error in body_too_large.send_robust(
                RequestIdMiddleware, request=request, size=length, limit=limit
            ):
                if error is not None:
                    logger.error("Could not record the refused body", exc_info=error)
            return error_response(
                413,
                "Request body too large",
                [{"field": "", "message": f"The body may be at most {settings.API_MAX_BODY_MB} MiB."}],
            )
        return None
