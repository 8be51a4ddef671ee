"""Liveness and readiness (docs/operations.md, Health and recovery)."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse


def healthz(request):
    return JsonResponse({"success": True, "data": {"status": "ok"}})


def readyz(request):
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        from config.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["broker"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    body = {"success": ready, "data": {"status": "ready" if ready else "not ready", "checks": checks}}
    if not ready:
        body["error"] = "Not ready"
        body["details"] = [{"field": k, "message": v} for k, v in checks.items() if v != "ok"]
    return JsonResponse(body, status=200 if ready else 503)
