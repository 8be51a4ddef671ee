"""POST /api/products/sync/batch: per-item results, one item's failure never fails the batch."""

from __future__ import annotations

import pytest

from catalog.models import Product
from syncjobs.models import SyncJob
from tests.factories.catalog import product_payload

URL = "/api/products/sync/batch"
pytestmark = pytest.mark.django_db


def _item(ref, **kw):
    return product_payload(**{"reference": ref, "name": f"Product {ref}", "categories": [2], **kw})


def test_batch_reports_each_item(api_client, sandbox_shop):
    api_client.post_json("/api/products/sync", _item("EXISTS"))
    products = [_item("P1"), _item("P2", price=-5), _item("EXISTS"), _item("P3", categories=[999]), _item("P4")]

    response = api_client.post_json(URL, {"products": products})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    assert (data["total"], data["successful"], data["failed"]) == (5, 2, 3)
    results = data["results"]
    assert [r["reference"] for r in results] == ["P1", "P2", "EXISTS", "P3", "P4"]
    ok1, bad_price, conflict, bad_category, ok4 = results
    assert ok1["success"] is True and ok1["syncId"].startswith("sync_")
    assert ok1["productId"] == Product.objects.get(reference="P1").pk
    assert ok1["presta_id"] == sandbox_shop.product_by_reference("P1")["id"]
    assert bad_price["success"] is False and bad_price["details"][0]["field"] == "price"
    assert conflict["success"] is False and "exists" in conflict["error"]
    assert bad_category["success"] is False and bad_category["details"][0]["field"] == "categories"
    assert ok4["success"] is True
    assert sandbox_shop.product_by_reference("P2") is None
    assert SyncJob.objects.filter(source="batch").count() == 2


def test_batch_shop_failure_is_an_item_error_with_its_sync_id(api_client, sandbox_shop):
    sandbox_shop.down = True

    response = api_client.post_json(URL, {"products": [_item("P1")]})

    assert response.status_code == 200
    item = response.json()["data"]["results"][0]
    assert item["success"] is False
    job = SyncJob.objects.get(sync_id=item["syncId"])
    assert job.status == "failed" and job.next_retry_at is not None


def test_batch_of_many_products_all_arrive(api_client, sandbox_shop, settings):
    settings.PRESTASHOP_WRITE_CONCURRENCY = 4
    products = [_item(f"B{i:03d}", quantity=i) for i in range(20)]

    response = api_client.post_json(URL, {"products": products})

    assert response.json()["data"]["successful"] == 20
    for i in range(20):
        assert sandbox_shop.product_by_reference(f"B{i:03d}")["quantity"] == i


def test_same_reference_twice_in_one_batch_runs_in_order(api_client, sandbox_shop):
    products = [_item("DUP"), product_payload(operation="update", reference="DUP", name="Second", price=1, quantity=1)]

    response = api_client.post_json(URL, {"products": products})

    assert response.json()["data"]["successful"] == 2
    assert sandbox_shop.product_by_reference("DUP")["name"][1] == "Second"


@pytest.mark.parametrize(
    "body",
    [{}, {"products": "x"}, {"products": None}, {"items": []}],
    ids=["missing", "not a list", "null", "wrong key"],
)
def test_batch_without_a_products_list_is_400(api_client, body):
    response = api_client.post_json(URL, body)

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "products"


def test_batch_over_the_limit_is_400(api_client, settings):
    settings.SYNC_BATCH_MAX = 3

    response = api_client.post_json(URL, {"products": [_item(f"P{i}") for i in range(4)]})

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "products"
    assert not Product.objects.exists()
