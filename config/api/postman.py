"""The Postman collection (docs/api.md, Schema and Postman), generated from the OpenAPI schema so that it cannot drift from it.

Every operation of /api/schema/ becomes one request, with the schema's own example as its body, in the order
an ERP integrator runs them (login → sync → status → batch → webhook → delete). Each request tests its
status code and the envelope's `success`; login stores `jwt_token`; the webhook signs its body in a pre-request
script with `webhook_secret` (HMAC-SHA256, base64), exactly as the ERP's API document (docs/api.md, Webhook) computes it.
`manage.py postman_collection` writes it and its environment file to docs/postman/; GET /api/postman/ serves it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from drf_spectacular.generators import SchemaGenerator

COLLECTION_SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
COLLECTION_FILE = "products-sync.postman_collection.json"
ENVIRONMENT_FILE = "products-sync.postman_environment.json"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"

# Collection variables: `base_url` and `jwt_token` as the API document names them, and what the run needs.
VARIABLES = [
    ("base_url", DEFAULT_BASE_URL, "Base API URL (e.g. https://your-domain.com)"),
    ("jwt_token", "", "JWT: set by the Login request from its answer"),
    ("refresh_token", "", "Set by the Login request"),
    ("username", "erp", "API user (manage.py create_api_user erp)"),
    ("password", "", "Its password"),
    ("webhook_secret", "", "GESMART_WEBHOOK_SECRET of the server (the webhook request signs with it)"),
    ("reference", "", "Set per run by the first sync request (PM-<timestamp>), so runs never collide"),
    ("sync_id", "", "Set by the sync request"),
]

SIGN_SCRIPT = [
    "// x-gesmart-signature = base64(HMAC-SHA256(raw body, webhook_secret)), over the body exactly as sent.",
    "const crypto = require('crypto-js');",
    "const secret = pm.variables.get('webhook_secret') || '';",
    "if (!secret) { console.warn('webhook_secret is not set: the webhook will answer 401'); }",
    "const body = pm.variables.replaceIn(pm.request.body.raw);",
    "pm.request.body.raw = body;",
    "const signature = crypto.enc.Base64.stringify(crypto.HmacSHA256(body, secret));",
    "pm.request.headers.upsert({ key: 'x-gesmart-signature', value: signature });",
]
NEW_REFERENCE = [
    "// A fresh reference per run, so the collection can run again against the same server.",
    "pm.collectionVariables.set('reference', 'PM-' + Date.now());",
]


@dataclass
class Step:
    """How one operation runs in the collection: the status it expects and what it stores."""

    operation_id: str
    name: str
    status: int
    success: bool = True
    query: dict[str, str] = field(default_factory=dict)
    body: Callable[[dict], dict] | None = None  # example → body sent
    prerequest: list[str] = field(default_factory=list)
    store: list[str] = field(default_factory=list)  # extra test lines
    auth: bool = True


def _with_reference(suffix: str = ""):
    def apply(example: dict) -> dict:
        return {**example, "reference": "{{reference}}" + suffix}

    return apply


def _batch(example: dict) -> dict:
    products = example["products"]
    return {"products": [{**p, "reference": f"{{{{reference}}}}-B{i + 1}"} for i, p in enumerate(products)]}


STEPS = [
    Step(
        "auth_login",
        "Login",
        200,
        body=lambda example: {"username": "{{username}}", "password": "{{password}}"},
        store=[
            "pm.collectionVariables.set('jwt_token', json.access);",
            "pm.collectionVariables.set('refresh_token', json.refresh);",
        ],
        auth=False,
    ),
    Step(
        "auth_refresh",
        "Refresh token",
        200,
        body=lambda example: {"refresh": "{{refresh_token}}"},
        store=["pm.collectionVariables.set('jwt_token', json.access);"],
        auth=False,
    ),
    Step(
        "products_sync",
        "Sync one product",
        200,
        body=_with_reference(),
        prerequest=NEW_REFERENCE,
        store=[
            "pm.collectionVariables.set('sync_id', json.data.syncId);",
            "pm.test('the product is ours', () => pm.expect(json.data.reference).to.eql(pm.variables.get('reference')));",
        ],
    ),
    Step("products_sync_status", "Sync status", 200, query={"syncId": "{{sync_id}}"}),
    Step(
        "products_sync_batch",
        "Batch sync",
        200,
        body=_batch,
        store=["pm.test('every item succeeded', () => pm.expect(json.data.failed).to.eql(0));"],
    ),
    Step(
        "webhooks_gesmart_products",
        "GeSmart webhook (signed)",
        200,
        body=_with_reference(),
        prerequest=SIGN_SCRIPT,
        store=["pm.test('queued', () => pm.expect(json.data.queued).to.eql(true));"],
        auth=False,
    ),
    Step("products_delete", "Delete product", 200, query={"reference": "{{reference}}"}),
]


def _operations(schema: dict) -> dict[str, tuple[str, str, dict]]:
    found = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            found[operation["operationId"]] = (method.upper(), path, operation)
    return found


def _request_example(operation: dict) -> dict | None:
    content = (operation.get("requestBody") or {}).get("content", {}).get("application/json", {})
    examples = content.get("examples") or {}
    for example in examples.values():
        return example["value"]
    return None


def _tests(step: Step) -> list[str]:
    return [
        f"pm.test('status is {step.status}', () => pm.response.to.have.status({step.status}));",
        "const json = pm.response.json();",
        f"pm.test('success is {str(step.success).lower()}', () => pm.expect(json.success).to.eql({str(step.success).lower()}));",
        *step.store,
    ]


def _item(step: Step, method: str, path: str, operation: dict) -> dict:
    url_path = [segment for segment in path.strip("/").split("/")]
    raw = "{{base_url}}" + path
    query = [{"key": k, "value": v} for k, v in step.query.items()]
    if query:
        raw += "?" + "&".join(f"{q['key']}={q['value']}" for q in query)
    request: dict = {
        "method": method,
        "header": [{"key": "Accept", "value": "application/json"}],
        "url": {"raw": raw, "host": ["{{base_url}}"], "path": url_path, **({"query": query} if query else {})},
        "description": (operation.get("summary") or "") + "\n\n" + (operation.get("description") or ""),
    }
    if not step.auth:
        request["auth"] = {"type": "noauth"}
    example = _request_example(operation)
    if step.body is not None:
        request["header"].append({"key": "Content-Type", "value": "application/json"})
        request["body"] = {
            "mode": "raw",
            "raw": json.dumps(step.body(example or {}), indent=2),
            "options": {"raw": {"language": "json"}},
        }
    events = [{"listen": "test", "script": {"type": "text/javascript", "exec": _tests(step)}}]
    if step.prerequest:
        events.insert(0, {"listen": "prerequest", "script": {"type": "text/javascript", "exec": step.prerequest}})
    return {"name": step.name, "event": events, "request": request}


def api_schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def postman_collection(schema: dict | None = None) -> dict:
    schema = schema or api_schema()
    operations = _operations(schema)
    missing = set(operations) - {s.operation_id for s in STEPS}
    if missing:
        raise ValueError(f"Operations without a Postman step: {sorted(missing)}")
    items = [_item(step, *operations[step.operation_id]) for step in STEPS]
    return {
        "info": {
            "name": schema["info"]["title"],
            "description": schema["info"].get("description", "")
            + "\n\nGenerated from /api/schema/ by `manage.py postman_collection`. Set `base_url`, `username`, "
            "`password` and `webhook_secret`; Login stores `jwt_token`.",
            "schema": COLLECTION_SCHEMA,
            "_postman_id": "5f1d7c2e-6b7a-4c39-9a51-70d2c0a0e001",
        },
        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{jwt_token}}", "type": "string"}]},
        "variable": [{"key": k, "value": v, "type": "string", "description": d} for k, v, d in VARIABLES],
        "item": items,
    }


def postman_environment() -> dict:
    return {
        "id": "5f1d7c2e-6b7a-4c39-9a51-70d2c0a0e002",
        "name": "Products Sync (local make run)",
        "values": [
            {
                "key": k,
                "value": v,
                "type": "secret" if k in ("password", "webhook_secret", "jwt_token") else "default",
                "enabled": True,
            }
            for k, v, _ in VARIABLES
            if k in ("base_url", "username", "password", "webhook_secret")
        ],
        "_postman_variable_scope": "environment",
    }


def dumps(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
