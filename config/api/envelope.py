"""Success and error bodies in the envelope of docs/api.md, built in one place."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse
from rest_framework.response import Response

from .schema import ErrorEnvelopeSerializer


def ok(data: Any = None, *, message: str | None = None, status: int = 200, **top_level: Any) -> Response:
    body: dict[str, Any] = {"success": True}
    if message:
        body["message"] = message
    body["data"] = data if data is not None else {}
    body.update(top_level)
    return Response(body, status=status)


def error_body(error: str, details: list[dict] | None = None, data: dict | None = None) -> dict:
    """docs/api.md's error envelope, rendered by the serializer that also describes it in the schema."""
    body: dict[str, Any] = {"success": False, "error": error, "details": details or []}
    if data is not None:
        body["data"] = {k: v for k, v in data.items() if v is not None or k == "productId"}
    return dict(ErrorEnvelopeSerializer(body).data)


def error_response(status: int, error: str, details: list[dict] | None = None, **headers: str) -> JsonResponse:
    """For code outside DRF (middleware, Django's error handlers)."""
    response = JsonResponse(error_body(error, details), status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response
