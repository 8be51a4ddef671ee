"""Django-level error pages for API paths (unknown URL, crash) in the envelope; HTML elsewhere."""

from __future__ import annotations

from django.views import defaults

from .envelope import error_response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return error_response(404, "Not found", [{"field": "", "message": f"No endpoint at {request.path}"}])
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return error_response(500, "Internal server error")
    return defaults.server_error(request)


def bad_request(request, exception=None):
    if _is_api(request):
        from django.core.exceptions import RequestDataTooBig

        if isinstance(exception, RequestDataTooBig):
            return error_response(413, "Request body too large")
        return error_response(400, "Bad request")
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return error_response(403, "Forbidden")
    return defaults.permission_denied(request, exception)
