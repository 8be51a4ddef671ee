"""The validation matrix of docs/api.md ("Product object"): one case per rule, asserting the status and the `details` field path.
Every refused request changes nothing: no product, no job, nothing in the shop."""

from __future__ import annotations

import base64

import pytest

from catalog.models import Product
from syncjobs.models import SyncJob
from tests.factories.catalog import product_payload
from tests.factories.images import image_b64, image_bytes, image_item

URL = "/api/products/sync"
DROP = ...


def _images(n, **kw):
    return [image_item(f"img{i}.png", color=(i * 20 % 255, 10, 10)) for i in range(n)]


def _tech(n):
    return [{"Gruppo": "G", "Descrizione": f"D{i}", "Valore": "1"} for i in range(n)]


CASES_400 = [
    ("operation missing", {"operation": DROP}, "operation"),
    ("operation unknown", {"operation": "upsert"}, "operation"),
    ("operation not a string", {"operation": 1}, "operation"),
    ("reference missing", {"reference": DROP}, "reference"),
    ("reference empty", {"reference": ""}, "reference"),
    ("reference too long", {"reference": "R" * 65}, "reference"),
    ("reference not a string", {"reference": 123}, "reference"),
    ("name missing", {"name": DROP}, "name"),
    ("name empty", {"name": ""}, "name"),
    ("name too long", {"name": "N" * 256}, "name"),
    ("description too long", {"description": "d" * 10_001}, "description"),
    ("price missing", {"price": DROP}, "price"),
    ("price negative", {"price": -0.01}, "price"),
    ("price a string", {"price": "12.50"}, "price"),
    ("price a boolean", {"price": True}, "price"),
    ("quantity missing", {"quantity": DROP}, "quantity"),
    ("quantity negative", {"quantity": -1}, "quantity"),
    ("quantity not integer", {"quantity": 1.5}, "quantity"),
    ("quantity a string", {"quantity": "5"}, "quantity"),
    ("active not boolean", {"active": "yes"}, "active"),
    ("active an integer", {"active": 1}, "active"),
    ("categories not a list", {"categories": 5}, "categories"),
    ("category not an integer", {"categories": [5, "x"]}, "categories[1]"),
    ("category zero", {"categories": [0]}, "categories[0]"),
    ("ean13 too short", {"ean13": "123"}, "ean13"),
    ("ean13 not digits", {"ean13": "12345678901ab"}, "ean13"),
    ("weight negative", {"weight": -1}, "weight"),
    ("weight a string", {"weight": "1kg"}, "weight"),
    ("brand without name", {"brand": {"description": "x"}}, "brand.name"),
    ("brand not an object", {"brand": "CoffeePro"}, "brand"),
    ("too many images", {"images": _images(11)}, "images"),
    ("image without fileName", {"images": [{"base64": image_b64()}]}, "images[0].fileName"),
    (
        "image bad extension",
        {"images": [image_item(), {"fileName": "a.bmp", "base64": image_b64()}]},
        "images[1].fileName",
    ),
    (
        "image base64 invalid",
        {"images": [image_item(), image_item("b.png"), {"fileName": "c.png", "base64": "@@@"}]},
        "images[2].base64",
    ),
    ("image base64 missing", {"images": [{"fileName": "a.png"}]}, "images[0].base64"),
    ("too many technical data", {"technical_data": _tech(101)}, "technical_data"),
    (
        "technical datum without Valore",
        {"technical_data": _tech(5) + [{"Gruppo": "G", "Descrizione": "Power"}]},
        "technical_data[5].Valore",
    ),
    (
        "technical datum Valore not a string",
        {"technical_data": [{"Gruppo": "G", "Descrizione": "Power", "Valore": 1500}]},
        "technical_data[0].Valore",
    ),
    (
        "technical datum PrintOrder not int",
        {"technical_data": [{"Gruppo": "G", "Descrizione": "P", "Valore": "1", "PrintOrder": "a"}]},
        "technical_data[0].PrintOrder",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "change", "field"), CASES_400, ids=[c[0] for c in CASES_400])
def test_invalid_field_is_400_with_its_path(api_client, sandbox_shop, case, change, field):
    response = api_client.post_json(URL, product_payload(**change))

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["success"] is False
    assert body["error"] == "Validation failed"
    assert field in [d["field"] for d in body["details"]]
    assert not Product.objects.exists() and not SyncJob.objects.exists()
    assert sandbox_shop.product_by_reference("PROD001") is None


@pytest.mark.django_db
def test_every_bad_field_is_reported_at_once(api_client, sandbox_shop):
    response = api_client.post_json(URL, {"operation": "create", "price": -1, "quantity": "x"})

    assert response.status_code == 400
    fields = {d["field"] for d in response.json()["details"]}
    assert {"reference", "name", "price", "quantity"} <= fields


@pytest.mark.django_db
def test_image_over_10_mb_decoded_is_400_on_its_base64(api_client, sandbox_shop):
    big = base64.b64encode(b"\x89PNG" + b"0" * (10 * 1024 * 1024)).decode()
    response = api_client.post_json(URL, product_payload(images=[{"fileName": "big.png", "base64": big}]))

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "images[0].base64"


CASES_422 = [
    ("unknown category", {"categories": [5, 999]}, "categories"),
    (
        "bytes are not an image",
        {"images": [{"fileName": "a.png", "base64": base64.b64encode(b"hello").decode()}]},
        "images[0].base64",
    ),
    (
        "PNG bytes named .jpg",
        {"images": [image_item(), {"fileName": "photo.jpg", "base64": image_b64("PNG")}]},
        "images[1].base64",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "change", "field"), CASES_422, ids=[c[0] for c in CASES_422])
def test_business_rule_is_422(api_client, sandbox_shop, case, change, field):
    response = api_client.post_json(URL, product_payload(**change))

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["success"] is False
    assert [d["field"] for d in body["details"]] == [field]
    assert not Product.objects.exists() and not SyncJob.objects.exists()
    assert sandbox_shop.product_by_reference("PROD001") is None


@pytest.mark.django_db
def test_body_that_is_not_json_is_400(api_client, sandbox_shop):
    response = api_client.post(URL, data="{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert "details" in response.json()


@pytest.mark.django_db
def test_json_that_is_not_an_object_is_400(api_client, sandbox_shop):
    response = api_client.post_json(URL, [1, 2])

    assert response.status_code == 400


@pytest.mark.django_db
def test_other_content_type_is_415(api_client, sandbox_shop):
    response = api_client.post(URL, data="operation=create", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response.json() == {"success": False, "error": response.json()["error"], "details": []}


@pytest.mark.django_db
def test_all_valid_formats_are_accepted(api_client, sandbox_shop):
    images = [
        {"fileName": "a.jpg", "base64": image_b64("JPEG")},
        {"fileName": "b.jpeg", "base64": image_b64("JPEG", color=(1, 2, 3))},
        {"fileName": "c.PNG", "base64": image_b64("PNG")},
        {"fileName": "d.gif", "base64": image_b64("GIF")},
        {"fileName": "e.webp", "base64": "data:image/webp;base64," + image_b64("WEBP")},
    ]
    response = api_client.post_json(URL, product_payload(images=images))

    assert response.status_code == 200, response.content
    assert response.json()["data"]["imagesProcessed"] == 5
    assert len(sandbox_shop.product_by_reference("PROD001")["images"]) == 5


def test_image_bytes_helper_makes_real_images():
    assert image_bytes("PNG").startswith(b"\x89PNG")
