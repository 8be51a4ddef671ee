"""The Postman collection (docs/api.md, Schema and Postman): served at GET /api/postman/ without auth, identical to docs/postman/,
generated from the schema (every operation), with tests on every request, login storing `jwt_token`, and a
webhook pre-request script whose signature is the one the service checks."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from config.api.postman import COLLECTION_FILE, ENVIRONMENT_FILE, dumps, postman_collection, postman_environment
from tests.config.api.openapi import openapi_document
from tests.factories.webhooks import sign

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "postman"


@pytest.fixture
def collection():
    return json.loads((DOCS / COLLECTION_FILE).read_text())


def test_download_needs_no_auth_and_is_the_committed_file(anon_client, db):
    response = anon_client.get("/api/postman/")

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{COLLECTION_FILE}"'
    assert response.content.decode() == (DOCS / COLLECTION_FILE).read_text()


def test_committed_files_equal_the_generated_ones():
    assert (DOCS / COLLECTION_FILE).read_text() == dumps(postman_collection()), "run manage.py postman_collection"
    assert (DOCS / ENVIRONMENT_FILE).read_text() == dumps(postman_environment())
    call_command("postman_collection", "--check")


def test_check_fails_on_a_stale_file(tmp_path):
    call_command("postman_collection", "--output-dir", str(tmp_path))
    (tmp_path / COLLECTION_FILE).write_text("{}")
    with pytest.raises(Exception, match="differ from the schema"):
        call_command("postman_collection", "--check", "--output-dir", str(tmp_path))


def test_collection_variables_and_format(collection):
    assert collection["info"]["schema"] == "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
    names = {v["key"] for v in collection["variable"]}
    assert {"base_url", "jwt_token", "webhook_secret"} <= names
    assert collection["auth"]["bearer"][0]["value"] == "{{jwt_token}}"
    environment = json.loads((DOCS / ENVIRONMENT_FILE).read_text())
    assert {v["key"] for v in environment["values"]} >= {"base_url", "webhook_secret"}


def test_every_operation_has_a_request_with_tests(collection):
    schema = openapi_document()
    operations = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    requests_ = {(i["request"]["method"], "/" + "/".join(i["request"]["url"]["path"])) for i in collection["item"]}
    assert requests_ == operations
    for item in collection["item"]:
        tests = next(e for e in item["event"] if e["listen"] == "test")["script"]["exec"]
        text = "\n".join(tests)
        assert "pm.response.to.have.status(" in text, item["name"]
        assert "json.success" in text, item["name"]


def test_login_stores_the_token_and_bodies_are_the_schema_examples(collection):
    login = next(i for i in collection["item"] if i["name"] == "Login")
    assert "pm.collectionVariables.set('jwt_token', json.access);" in login["event"][0]["script"]["exec"]
    assert login["request"]["auth"] == {"type": "noauth"}
    sync = next(
        i
        for i in collection["item"]
        if i["request"]["url"]["path"] == ["api", "products", "sync"] and i["request"]["method"] == "POST"
    )
    body = json.loads(sync["request"]["body"]["raw"])
    assert body["price"] == 1299.99 and body["reference"] == "{{reference}}"


def _webhook(collection):
    return next(i for i in collection["item"] if "webhooks" in i["request"]["url"]["path"])


def test_webhook_request_signs_its_body(collection):
    item = _webhook(collection)
    script = "\n".join(next(e for e in item["event"] if e["listen"] == "prerequest")["script"]["exec"])
    assert "HmacSHA256" in script and "Base64" in script and "webhook_secret" in script
    assert item["request"]["auth"] == {"type": "noauth"}


@pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "crypto-js").is_dir(),
    reason="node and npm ci (crypto-js) needed",
)
def test_the_pre_request_script_computes_the_signature_the_service_checks(collection):
    """Runs the collection's own script in node with a stand-in `pm` and compares with the Python signature."""
    item = _webhook(collection)
    script = "\n".join(next(e for e in item["event"] if e["listen"] == "prerequest")["script"]["exec"])
    raw = item["request"]["body"]["raw"]
    harness = f"""
const vars = {{ webhook_secret: 's3cr3t', reference: 'PM-1' }};
const headers = {{}};
const pm = {{
  variables: {{ get: (k) => vars[k], replaceIn: (s) => s.replace(/{{{{(\\w+)}}}}/g, (_, k) => vars[k]) }},
  request: {{ body: {{ raw: {json.dumps(raw)} }}, headers: {{ upsert: (h) => {{ headers[h.key] = h.value; }} }} }},
}};
{script}
console.log(JSON.stringify({{ body: pm.request.body.raw, signature: headers['x-gesmart-signature'] }}));
"""
    out = subprocess.run(["node", "-e", harness], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True)
    result = json.loads(out.stdout)
    assert "PM-1" in result["body"] and "{{" not in result["body"]
    assert result["signature"] == sign(result["body"], "s3cr3t")
