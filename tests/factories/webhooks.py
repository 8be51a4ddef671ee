"""Signed webhook deliveries, computed exactly as the ERP does (docs/api.md, Webhook)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

WEBHOOK_URL = "/api/webhooks/gesmart/products"


def sign(body: bytes | str, secret: str) -> str:
    if isinstance(body, str):
        body = body.encode("utf-8")
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("utf-8")


def webhook_body(payload: dict) -> bytes:
    """`json.dumps(product_data)` as the ERP's example sends it."""
    return json.dumps(payload).encode("utf-8")


def webhook_payload(**overrides) -> dict:
    """The documented webhook example (an update)."""
    payload = {
        "operation": "update",
        "reference": "PROD001",
        "name": "Updated Product Name",
        "price": 1499.99,
        "quantity": 75,
        "active": True,
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not ...}
