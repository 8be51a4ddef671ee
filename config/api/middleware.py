"""Request ids in logs, and the body-size limit answered in the API envelope before the body is read."""

from __future__ import annotations

import contextvars
import logging
import uuid

from django.conf import settings

from .envelope import error_response

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class RequestIdMiddleware:
    """Tags every log line with a request id (taken from `X-Request-ID` when a proxy sets one)
    and refuses API bodies over `API_MAX_BODY_MB` with a 413 envelope before reading them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        rid = incoming[:64] if incoming and incoming.isprintable() else uuid.uuid4().hex
        token = _request_id.set(rid)
        try:
            if request.path.startswith("/api/"):
                too_big = self._too_big(request)
                if too_big is not None:
                    return too_big
            response = self.get_response(request)
            response["X-Request-ID"] = rid
            return response
        finally:
            _request_id.reset(token)

    @staticmethod
    def _too_big(request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "Invalid Content-Length header")
        limit = settings.API_MAX_BODY_MB * 1024 * 1024
        if length > limit:
            return error_response(
                413,
                "Request body too large",
                [{"field": "", "message": f"The body may be at most {settings.API_MAX_BODY_MB} MiB."}],
            )
        return None
