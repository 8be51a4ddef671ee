"""The service's own OpenAPI document, and JSON Schema validation of a live answer against it."""

from __future__ import annotations

import copy
import functools

import jsonschema
from drf_spectacular.generators import SchemaGenerator


@functools.cache
def openapi_document() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _to_json_schema(node, components: dict):
    """OpenAPI 3.0 schema → JSON Schema: `$ref` resolved, `nullable: true` → null allowed."""
    if isinstance(node, list):
        return [_to_json_schema(n, components) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _to_json_schema(components[name], components)
    out = {k: _to_json_schema(v, components) for k, v in node.items() if k not in ("nullable", "example", "examples")}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def response_schema(method: str, path: str, status: int) -> dict:
    doc = openapi_document()
    operation = doc["paths"][path][method.lower()]
    response = operation["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return _to_json_schema(copy.deepcopy(schema), doc["components"]["schemas"])


def documented_statuses() -> set[tuple[str, str, int]]:
    doc = openapi_document()
    return {
        (method.upper(), path, int(status))
        for path, operations in doc["paths"].items()
        for method, operation in operations.items()
        for status in operation["responses"]
    }


def assert_matches_schema(method: str, path: str, response) -> None:
    """The live answer's status is documented for the operation and its body validates against that schema."""
    documented = {s for m, p, s in documented_statuses() if m == method.upper() and p == path}
    assert response.status_code in documented, f"{method} {path} answered {response.status_code}: undocumented"
    assert response["Content-Type"].startswith("application/json")
    jsonschema.validate(response.json(), response_schema(method, path, response.status_code))
