"""Django-level error pages for API paths (unknown URL, crash) in the envelope; HTML elsewhere."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.views import defaults

from .envelope import error_response
from .postman import COLLECTION_FILE, dumps, postman_collection

# What lives under /api/ (the 404 for /api/ itself lists it).
API_INDEX = [
    ("POST /api/auth/login", "obtain a JWT"),
    ("POST /api/auth/refresh", "refresh the JWT"),
    ("POST /api/products/sync", "sync one product"),
    ("GET /api/products/sync?syncId=", "read a sync record"),
    ("DELETE /api/products/sync?reference=", "delete a product"),
    ("POST /api/products/sync/batch", "sync up to SYNC_BATCH_MAX products"),
    ("POST /api/webhooks/gesmart/products", "ERP webhook (signed)"),
    ("GET /api/schema/", "OpenAPI schema"),
    ("GET /api/docs/", "Swagger UI"),
    ("GET /api/redoc/", "Redoc"),
    ("GET /api/postman/", "Postman collection"),
]


def _is_api(request) -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def _api_not_found(request):
    if request.path in ("/api", "/api/"):
        return error_response(
            404,
            "No endpoint at /api/: the endpoints are listed below, documented at /api/docs/",
            [{"field": "", "message": f"{endpoint}: {what}"} for endpoint, what in API_INDEX],
        )
    details = [{"field": "", "message": f"No endpoint at {request.path}; see /api/docs/ for the API."}]
    other = request.path[:-1] if request.path.endswith("/") else request.path + "/"
    try:
        match = resolve(other)
    except Resolver404:
        match = None
    if match is not None and match.url_name != "api-not-found":
        details.append({"field": "", "message": f"Did you mean {other}?"})
    return error_response(404, "Not found", details)


def api_not_found(request, path: str = ""):
    """Catch-all for /api/…: the envelope even under DEBUG (where Django would show its HTML page)."""
    return _api_not_found(request)


def not_found(request, exception=None):
    if _is_api(request):
        return _api_not_found(request)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return error_response(500, "Internal server error")
    return defaults.server_error(request)


def bad_request(request, exception=None):
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return error_response(413, "Request body too large")
        return error_response(400, "Bad request")
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return error_response(403, "Forbidden")
    return defaults.permission_denied(request, exception)


def postman_collection_download(request):
    """GET /api/postman/ (no auth): the Postman collection of docs/api.md, Schema and Postman, as a file download."""
    if request.method not in ("GET", "HEAD"):
        return error_response(405, f"Method {request.method} not allowed")
    response = HttpResponse(dumps(postman_collection()), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{COLLECTION_FILE}"'
    return response
