"""The one place where every API error becomes the envelope of docs/api.md.

DRF validation errors are flattened into `details` entries whose `field` is a path
(`brand.name`, `images[2].base64`); auth failures are 401 (never 403 for a missing token);
throttling keeps `Retry-After`; unknown exceptions are logged with the request id and answered 500.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from .envelope import error_body
from .errors import ApplicationError

logger = logging.getLogger(__name__)

MESSAGES = {
    exceptions.NotAuthenticated: "Authentication credentials were not provided",
    exceptions.AuthenticationFailed: "Invalid or expired token",
    exceptions.PermissionDenied: "You do not have permission to perform this action",
    exceptions.NotFound: "Not found",
    exceptions.MethodNotAllowed: "Method not allowed",
    exceptions.NotAcceptable: "Not acceptable",
    exceptions.UnsupportedMediaType: "Unsupported media type: send application/json",
    exceptions.Throttled: "Too many requests",
    exceptions.ParseError: "Malformed JSON body",
}


def flatten_errors(errors: Any, prefix: str = "") -> list[dict]:
    """DRF's nested error structure → [{"field": "images[2].base64", "message": "..."}]."""
    out: list[dict] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key in ("non_field_errors", "__all__"):
                path = prefix
            elif isinstance(key, int):  # ListField errors are keyed by index
                path = f"{prefix}[{key}]"
            elif prefix:
                path = f"{prefix}.{key}"
            else:
                path = str(key)
            out.extend(flatten_errors(value, path))
    elif isinstance(errors, list):
        if errors and all(isinstance(e, (str, exceptions.ErrorDetail)) for e in errors):
            for message in errors:
                out.append({"field": prefix, "message": str(message)})
        else:
            for index, item in enumerate(errors):
                if item in ({}, [], None, ""):
                    continue
                out.extend(flatten_errors(item, f"{prefix}[{index}]"))
    elif errors not in (None, ""):
        out.append({"field": prefix, "message": str(errors)})
    return out


def envelope_exception_handler(exc: Exception, context: dict) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, ApplicationError):
        set_rollback()
        return Response(error_body(exc.error, exc.details, exc.data), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        details = flatten_errors(exc.detail)
        return Response(error_body("Validation failed", details), status=status.HTTP_400_BAD_REQUEST)

    if isinstance(exc, exceptions.APIException):
        set_rollback()
        status_code = exc.status_code
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            status_code = status.HTTP_401_UNAUTHORIZED
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
        if isinstance(exc, exceptions.Throttled):
            wait = exc.wait if exc.wait is not None else 1
            headers["Retry-After"] = str(max(1, int(round(wait))))
        message = next((m for cls, m in MESSAGES.items() if isinstance(exc, cls)), None)
        if message is None:
            message = str(exc.detail) if isinstance(exc.detail, str) else "Request failed"
        if isinstance(exc, exceptions.MethodNotAllowed):
            message = f"Method {context['request'].method} not allowed"
        details: list[dict] = []
        if isinstance(exc, exceptions.ParseError) and isinstance(exc.detail, str):
            details = [{"field": "", "message": str(exc.detail)}]
        return Response(error_body(message, details), status=status_code, headers=headers)

    request = context.get("request")
    logger.exception(
        "Unhandled error on %s %s",
        getattr(request, "method", "?"),
        getattr(request, "path", "?"),
    )
    set_rollback()
    return Response(error_body("Internal server error"), status=status.HTTP_500_INTERNAL_SERVER_ERROR)
