"""A partner's view: a client generated from /api/schema/ (openapi-python-client) logs in, then builds and sends
the API document's example request from the schema's own example, and it is accepted; the answer parses
into the generated models (numbers are numbers, every field described)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from catalog.models import Product

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture
def generated_client(live_server, tmp_path):
    schema = requests.get(f"{live_server.url}/api/schema/?format=json", timeout=30)
    assert schema.status_code == 200
    (tmp_path / "schema.json").write_text(schema.text)
    (tmp_path / "config.yml").write_text("post_hooks: []\n")
    subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(tmp_path / "schema.json"),
            "--output-path",
            str(tmp_path / "products_sync_client"),
            "--meta",
            "none",
            "--config",
            str(tmp_path / "config.yml"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("products_sync_client"), json.loads(schema.text)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("products_sync_client")]:
            del sys.modules[name]


def _request_example(schema: dict, path: str) -> dict:
    examples = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["examples"]
    return next(iter(examples.values()))["value"]


@pytest.mark.django_db(transaction=True)
def test_generated_client_sends_the_documented_example(generated_client, live_server, sandbox_shop, user):
    package, schema = generated_client
    login = importlib.import_module("products_sync_client.api.auth.auth_login")
    sync = importlib.import_module("products_sync_client.api.products.products_sync")
    models = importlib.import_module("products_sync_client.models")

    client = package.Client(base_url=live_server.url)
    tokens = login.sync(client=client, body=models.LoginInputRequest(username="erp", password="erp-password-123"))
    assert isinstance(tokens, models.LoginResponse), tokens

    example = _request_example(schema, "/api/products/sync")
    assert example["price"] == 1299.99  # the API document's example, a JSON number
    body = models.ProductSyncInputRequest.from_dict(example)
    authed = package.AuthenticatedClient(base_url=live_server.url, token=tokens.access)
    answer = sync.sync_detailed(client=authed, body=body)

    assert answer.status_code == 200, answer.content
    assert isinstance(answer.parsed, models.ProductSyncResponse)
    assert answer.parsed.data.reference == "PROD001" and answer.parsed.data.status == "completed"
    assert str(Product.objects.get(reference="PROD001").price) == "1299.990000"
    assert sandbox_shop.product_by_reference("PROD001") is not None

    again = sync.sync_detailed(client=authed, body=body)  # create again: the documented 409 parses too
    assert again.status_code == 409
    assert isinstance(again.parsed, models.ErrorEnvelope) and again.parsed.success is False
