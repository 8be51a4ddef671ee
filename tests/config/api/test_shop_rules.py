"""What PrestaShop 8 would refuse (classes/Validate.php via Product::$definition) is refused here first, as a 400
on the field, in the API, the batch and the webhook: never stored, never a job that fails forever."""

from __future__ import annotations

import pytest

from catalog.models import Product
from syncjobs.models import SyncJob
from tests.factories.catalog import product_payload
from tests.factories.webhooks import WEBHOOK_URL, sign, webhook_body

SECRET = "whsec-rules-0123456789"
URL = "/api/products/sync"
BATCH_URL = "/api/products/sync/batch"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _secret(settings, sandbox_shop):
    settings.GESMART_WEBHOOK_SECRET = SECRET


REFUSED = [
    # isReference: /^[^<>;={}]*$/u
    *[({"reference": f"REF{c}1"}, "reference") for c in "<>;={}"],
    # isPrice: at most 10 digits before the point
    ({"price": 12345678901}, "price"),
    # isCleanHtml on description
    ({"description": "<script>alert(1)</script>"}, "description"),
    ({"description": '<img src=x onerror="alert(1)">'}, "description"),
    ({"description": '<a href="javascript:alert(1)">x</a>'}, "description"),
    ({"description": "<iframe src=x></iframe>"}, "description"),
    ({"description": "<form><input name=a></form>"}, "description"),
    ({"description": "<embed src=x>"}, "description"),
    # ean13: 13 digits or empty (isEan13 allows no letters, and we send exactly 13)
    ({"ean13": "12345678901a3"}, "ean13"),
]


def _deliver(client, payload):
    body = webhook_body(payload)
    return client.post(
        WEBHOOK_URL, data=body, content_type="application/json", HTTP_X_GESMART_SIGNATURE=sign(body, SECRET)
    )


@pytest.mark.parametrize(("change", "field"), REFUSED, ids=[repr(c) for c, _ in REFUSED])
def test_value_the_shop_refuses_is_400_everywhere(api_client, client, sandbox_shop, change, field):
    payload = product_payload(**change)

    api = api_client.post_json(URL, payload)
    assert api.status_code == 400, api.content
    assert [d["field"] for d in api.json()["details"]] == [field]

    batch = api_client.post_json(BATCH_URL, {"products": [payload, product_payload(reference="OK-1")]})
    assert batch.status_code == 200
    bad, good = batch.json()["data"]["results"]
    assert bad["success"] is False and [d["field"] for d in bad["details"]] == [field]
    assert good["success"] is True

    hook = _deliver(client, {**payload, "reference": payload["reference"], "operation": "update"})
    assert hook.status_code == 400, hook.content
    assert [d["field"] for d in hook.json()["details"]] == [field]

    assert list(Product.objects.values_list("reference", flat=True)) == ["OK-1"]
    assert list(SyncJob.objects.values_list("reference", flat=True)) == ["OK-1"]
    assert sandbox_shop.product_by_reference(payload["reference"]) is None


ACCEPTED = [
    {"reference": "REF-1/A_b.c (x) #2 & 'q'"},
    {"price": 9999999999.999999},
    {"description": "<p>Espresso <b>machine</b>, 15 bar; <a href='https://example.test'>manual</a></p>"},
    {"ean13": ""},
    {"ean13": "4006381333931"},
    {"weight": 0},
    {"name": "Name with <>;=#{} that is adapted, not refused"},
]


@pytest.mark.parametrize("change", ACCEPTED, ids=[repr(c) for c in ACCEPTED])
def test_values_the_shop_takes_are_accepted_and_arrive(api_client, sandbox_shop, change):
    response = api_client.post_json(URL, product_payload(**change))

    assert response.status_code == 200, response.content
    reference = change.get("reference", "PROD001")
    assert sandbox_shop.product_by_reference(reference) is not None


@pytest.mark.parametrize("field", ["images", "technical_data"])
def test_null_item_in_a_list_is_400_on_the_item(api_client, sandbox_shop, field):
    response = api_client.post_json(URL, product_payload(**{field: [None]}))

    assert response.status_code == 400, response.content
    assert [d["field"] for d in response.json()["details"]] == [f"{field}[0]"]
