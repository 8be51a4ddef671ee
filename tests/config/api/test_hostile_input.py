"""No input is a 500 (docs/api.md, Envelope): NUL bytes, lone surrogates, non-UTF-8 bodies, absurd numbers, deep nesting,
in a query parameter, a header or a body field, in the API, the batch and the webhook, are a 400 in the
envelope naming the field, and change nothing."""

from __future__ import annotations

import json

import pytest

from catalog.models import Product
from syncjobs.models import SyncJob
from tests.factories.catalog import product_payload
from tests.factories.webhooks import WEBHOOK_URL, sign
from webhooks.models import WebhookDelivery

SECRET = "whsec-hostile-0123456789"
URL = "/api/products/sync"
BATCH_URL = "/api/products/sync/batch"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _secret(settings, sandbox_shop):
    settings.GESMART_WEBHOOK_SECRET = SECRET


def _fields(response) -> list[str]:
    body = response.json()
    assert body["success"] is False, body
    assert isinstance(body["details"], list)
    return [d["field"] for d in body["details"]]


def _post_raw(client, url: str, body: bytes, **extra):
    return client.post(url, data=body, content_type="application/json", **extra)


def _webhook_raw(client, body: bytes, content_type="application/json"):
    return client.post(WEBHOOK_URL, data=body, content_type=content_type, HTTP_X_GESMART_SIGNATURE=sign(body, SECRET))


def _nothing_stored():
    assert not Product.objects.exists()
    assert not SyncJob.objects.exists()


# --- query parameters ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "query", "field"),
    [
        ("delete", "reference=l%00x", "reference"),
        ("get", "syncId=X%00Y", "syncId"),
        ("get", "syncId=" + "a%01" * 3, "syncId"),
        ("get", "syncId=" + "s" * 500, "syncId"),
        ("delete", "reference=" + "r" * 500, "reference"),
        ("get", "syncId=%ff%fe%00", "syncId"),
    ],
)
def test_unsafe_query_parameter_is_400_naming_it(api_client, method, query, field):
    response = getattr(api_client, method)(f"{URL}?{query}")

    assert response.status_code == 400, response.content
    assert _fields(response) == [field]


def test_non_utf8_query_parameter_is_not_a_500(api_client):
    response = api_client.get(f"{URL}?syncId=%ff%fe")

    assert response.status_code == 404  # decoded as U+FFFD: valid text, no such record
    assert response.json()["success"] is False


# --- headers -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value", ["Bearer \x00", "Bearer \udcff".encode("utf-8", "surrogatepass").decode("latin-1"), "Bearer ÿÿ"]
)
def test_garbage_authorization_header_is_401(anon_client, value):
    response = anon_client.get(f"{URL}?syncId=x", HTTP_AUTHORIZATION=value)

    assert response.status_code == 401
    assert response.json()["success"] is False


@pytest.mark.parametrize("signature", ["\x00", "ÿÿÿÿ", "a" * 5000])
def test_garbage_signature_header_is_401(client, signature):
    body = json.dumps(product_payload()).encode()
    response = client.post(WEBHOOK_URL, data=body, content_type="application/json", HTTP_X_GESMART_SIGNATURE=signature)

    assert response.status_code == 401
    assert _fields(response) == ["x-gesmart-signature"]
    _nothing_stored()


def test_unknown_charset_is_400(api_client):
    response = api_client.post(URL, data=b"{}", content_type="application/json; charset=no-such-charset")

    assert response.status_code == 400
    assert response.json()["success"] is False


def test_garbage_request_id_header_is_ignored(api_client):
    response = api_client.get(f"{URL}?syncId=nope", HTTP_X_REQUEST_ID="\x00\x01" * 50)

    assert response.status_code == 404
    assert "\x00" not in response["X-Request-ID"]


# --- bodies: API, batch and webhook -----------------------------------------------------------------
NUL_IN_FIELD = json.dumps(product_payload(name="Coffee\u0000Machine")).encode()
SURROGATE_IN_FIELD = json.dumps(product_payload(description="x\udb7fy")).encode()  # "\udb7f" escape in the JSON
SURROGATE_IN_NESTED = json.dumps(product_payload(brand={"name": "\udfff"})).encode()
NUL_IN_KEY = json.dumps({**product_payload(), "ex\u0000tra": 1}).encode()
NON_UTF8 = b'{"operation": "create", "reference": "PROD001", "name": "Caf\xe9"}'
DEEP = b'{"operation": "create", "brand": ' + b'{"name": ' * 5000 + b'"x"' + b"}" * 5000 + b"}"
DEEP_LIST = b'{"categories": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def _batch(product_bytes: bytes) -> bytes:
    return b'{"products": [' + product_bytes + b"]}"


BODY_CASES = [
    ("NUL in a field", NUL_IN_FIELD, "name", "products[0].name"),
    ("lone surrogate in a field", SURROGATE_IN_FIELD, "description", "products[0].description"),
    ("lone surrogate in a nested field", SURROGATE_IN_NESTED, "brand.name", "products[0].brand.name"),
    ("NUL in a key", NUL_IN_KEY, "body", "products[0]"),
    ("non-UTF-8 body", NON_UTF8, "", ""),
    ("deep nesting (objects)", DEEP, None, None),
    ("deep nesting (lists)", DEEP_LIST, None, None),
]


@pytest.mark.parametrize(("case", "body", "field", "batch_field"), BODY_CASES, ids=[c[0] for c in BODY_CASES])
def test_hostile_body_is_400_in_the_api(api_client, case, body, field, batch_field):
    response = _post_raw(api_client, URL, body)

    assert response.status_code == 400, response.content
    fields = _fields(response)
    if field is not None:
        assert field in fields
    _nothing_stored()


@pytest.mark.parametrize(("case", "body", "field", "batch_field"), BODY_CASES, ids=[c[0] for c in BODY_CASES])
def test_hostile_body_is_400_in_the_batch(api_client, case, body, field, batch_field):
    response = _post_raw(api_client, BATCH_URL, _batch(body))

    assert response.status_code == 400, response.content
    fields = _fields(response)
    if batch_field is not None and case != "non-UTF-8 body":
        assert batch_field in fields
    _nothing_stored()


@pytest.mark.parametrize(("case", "body", "field", "batch_field"), BODY_CASES, ids=[c[0] for c in BODY_CASES])
def test_hostile_body_is_400_in_the_webhook(client, case, body, field, batch_field):
    response = _webhook_raw(client, body)

    assert response.status_code == 400, response.content
    fields = _fields(response)
    if field is not None:
        assert field in fields
    _nothing_stored()
    delivery = WebhookDelivery.objects.get()  # kept for audit, with what could be stored
    assert delivery.status_code == 400 and delivery.signature_valid


ABSURD_NUMBERS = [
    ('"price": 1e999999999', "price"),
    ('"price": 99999999999', "price"),
    ('"price": 0.0000001', "price"),
    ('"price": -0.0', None),
    ('"quantity": 1e999999999', "quantity"),
    ('"quantity": 1e-999999999', "quantity"),
    ('"quantity": 99999999999999999999999', "quantity"),
    ('"weight": 1e400', "weight"),
    ('"categories": [1e999999999]', "categories[0]"),
    (
        '"technical_data": [{"Gruppo": "g", "Descrizione": "d", "Valore": "v", "PrintOrder": 1e99999}]',
        "technical_data[0].PrintOrder",
    ),
]


def _with(fragment: str) -> bytes:
    base = json.dumps(product_payload())[:-1]  # drop the closing brace
    return (base + ", " + fragment + "}").encode()


@pytest.mark.parametrize(("fragment", "field"), ABSURD_NUMBERS)
def test_absurd_numbers(api_client, client, fragment, field):
    body = _with(fragment)
    for response, path in (
        (_post_raw(api_client, URL, body), field),
        (_post_raw(api_client, BATCH_URL, _batch(body)), None),
        (_webhook_raw(client, body), field),
    ):
        if field is None:  # -0.0 is a valid price of 0
            assert response.status_code == 200, response.content
            continue
        if path is None:  # the batch answers 200 with the item refused on that field
            item = response.json()["data"]["results"][0]
            assert response.status_code == 200 and item["success"] is False
            assert f"{field}" in [d["field"] for d in item["details"]]
        else:
            assert response.status_code == 400, (fragment, response.content)
            assert path in _fields(response)
    if field is not None:
        _nothing_stored()


def test_huge_integer_literal_is_400(api_client):
    body = _with('"quantity": ' + "9" * 5000)
    response = _post_raw(api_client, URL, body)

    assert response.status_code == 400
    assert response.json()["success"] is False
