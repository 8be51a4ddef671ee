"""POST/GET/DELETE /api/products/sync end to end: the API over Django's test client, the shop as the
sandbox PrestaShop over real HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import Product
from syncjobs.models import SyncJob
from tests.factories.catalog import product_payload
from tests.factories.images import image_item

URL = "/api/products/sync"
pytestmark = pytest.mark.django_db


def test_create_answers_the_documented_body_and_reaches_the_shop(api_client, sandbox_shop):
    response = api_client.post_json(URL, product_payload())

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "Product synchronized successfully"
    data = body["data"]
    product = Product.objects.get(reference="PROD001")
    assert data["productId"] == product.pk
    assert data["reference"] == "PROD001"
    assert data["operation"] == "create"
    assert data["status"] == "completed"
    assert data["syncId"].startswith("sync_")
    assert data["imagesProcessed"] == 0 and data["technicalDataProcessed"] == 0
    assert data["warnings"] == []
    shop_product = sandbox_shop.product_by_reference("PROD001")
    assert data["presta_id"] == shop_product["id"] == product.presta_id
    assert shop_product["name"][1] == shop_product["name"][2] == "Professional Coffee Machine"
    assert Decimal(str(shop_product["price"])) == Decimal("1299.99")
    assert shop_product["quantity"] == 50
    assert shop_product["active"] is True
    assert shop_product["categories"][:2] == [5, 12]
    assert product.price == Decimal("1299.99")


def test_create_of_a_known_reference_is_409(api_client, sandbox_shop):
    api_client.post_json(URL, product_payload())
    response = api_client.post_json(URL, product_payload(name="Other"))

    assert response.status_code == 409
    assert response.json()["details"][0]["field"] == "reference"
    assert Product.objects.get().name == "Professional Coffee Machine"


def test_update_of_an_unknown_reference_is_404(api_client, sandbox_shop):
    response = api_client.post_json(URL, product_payload(operation="update"))

    assert response.status_code == 404
    assert response.json()["success"] is False
    assert not Product.objects.exists()


def test_update_keeps_absent_fields_and_clears_empty_lists(api_client, sandbox_shop):
    api_client.post_json(
        URL,
        product_payload(
            images=[image_item("a.png")],
            technical_data=[{"Gruppo": "Elettrico", "Descrizione": "Potenza", "Valore": "1500", "Suffisso": "W"}],
            ean13="4006381333931",
        ),
    )
    response = api_client.post_json(
        URL,
        {
            "operation": "update",
            "reference": "PROD001",
            "name": "Coffee Machine v2",
            "price": 999,
            "quantity": 3,
            "images": [],
        },
    )

    assert response.status_code == 200, response.content
    product = Product.objects.get()
    assert product.name == "Coffee Machine v2"
    assert product.ean13 == "4006381333931"  # absent: kept
    assert product.categories == [5, 12]
    assert product.brand.name == "CoffeePro"
    assert product.technical_data.count() == 1
    assert product.images.count() == 0  # empty list: cleared
    shop_product = sandbox_shop.product_by_reference("PROD001")
    assert shop_product["images"] == []
    assert shop_product["quantity"] == 3
    assert shop_product["ean13"] == "4006381333931"


def test_existing_shop_product_with_the_reference_is_adopted(api_client, sandbox_shop):
    api_client.post_json(URL, product_payload())
    presta_id = Product.objects.get().presta_id
    # The local record is lost (say, a fresh install): the shop already has the product.
    Product.objects.all().delete()

    response = api_client.post_json(URL, product_payload(price=10))

    assert response.status_code == 200
    assert response.json()["data"]["presta_id"] == presta_id
    assert len([p for p in sandbox_shop.products() if p["reference"] == "PROD001"]) == 1


def test_long_name_is_adapted_for_the_shop_with_a_warning(api_client, sandbox_shop):
    name = "Macchina da caffè professionale " * 6 + "<edizione>"
    response = api_client.post_json(URL, product_payload(name=name))

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["warnings"]
    shop_name = sandbox_shop.product_by_reference("PROD001")["name"][1]
    assert len(shop_name) <= 128 and "<" not in shop_name
    assert name.startswith(shop_name.rstrip())
    assert Product.objects.get().name == name.strip()
    assert SyncJob.objects.get().warnings == data["warnings"]


def test_shop_failure_answers_502_with_a_stored_failed_job_that_is_retried(
    api_client, sandbox_shop, django_capture_on_commit_callbacks
):
    sandbox_shop.down = True
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_client.post_json(URL, product_payload())

    assert response.status_code == 502
    body = response.json()
    assert body["success"] is False
    job = SyncJob.objects.get()
    assert body["data"]["syncId"] == job.sync_id
    assert body["data"]["status"] == "failed"
    assert job.status == "failed" and job.next_retry_at is not None and job.error
    assert job.attempt_rows.get().outcome == "failed"
    assert Product.objects.get().reference == "PROD001"  # what the ERP sent is kept
    assert callbacks, "a retry task is enqueued after commit"

    sandbox_shop.down = False
    from syncjobs.services.runner import job_run

    job = job_run(job_id=job.pk)
    assert job.status == "completed" and job.attempts == 2
    assert sandbox_shop.product_by_reference("PROD001") is not None


def test_get_sync_record(api_client, sandbox_shop):
    sync_id = api_client.post_json(URL, product_payload()).json()["data"]["syncId"]

    response = api_client.get(URL, {"syncId": sync_id})

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["syncId"] == sync_id
    assert data["reference"] == "PROD001"
    assert data["status"] == "completed"
    assert data["operation"] == "create"
    assert data["source"] == "api"
    assert data["startedAt"].endswith("Z") and data["completedAt"].endswith("Z")
    assert isinstance(data["duration"], int)
    assert data["productId"] == Product.objects.get().pk
    assert isinstance(data["presta_id"], int)
    assert data["attempts"] == 1
    assert data["warnings"] == [] and data["error"] is None


def test_get_without_sync_id_is_400_and_unknown_is_404(api_client):
    missing = api_client.get(URL)
    unknown = api_client.get(URL, {"syncId": "sync_nope"})

    assert missing.status_code == 400 and missing.json()["details"][0]["field"] == "syncId"
    assert unknown.status_code == 404 and unknown.json()["success"] is False


def test_delete_removes_from_the_shop_and_keeps_the_local_record(api_client, sandbox_shop):
    created = api_client.post_json(URL, product_payload()).json()["data"]

    response = api_client.delete(f"{URL}?reference=PROD001")

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["reference"] == "PROD001"
    assert data["presta_id"] == created["presta_id"]
    assert data["syncId"].startswith("sync_")
    assert sandbox_shop.product_by_reference("PROD001") is None
    product = Product.objects.get()
    assert product.is_deleted is True


def test_deleted_product_is_unknown_to_update_and_delete_and_created_again(api_client, sandbox_shop):
    api_client.post_json(URL, product_payload())
    api_client.delete(f"{URL}?reference=PROD001")

    assert api_client.post_json(URL, product_payload(operation="update")).status_code == 404
    assert api_client.delete(f"{URL}?reference=PROD001").status_code == 404
    again = api_client.post_json(URL, product_payload(name="Back again"))
    assert again.status_code == 200
    assert sandbox_shop.product_by_reference("PROD001")["name"][1] == "Back again"
    assert Product.objects.get().is_deleted is False


def test_delete_unknown_is_404_and_missing_reference_is_400(api_client):
    assert api_client.delete(f"{URL}?reference=NOPE").status_code == 404
    missing = api_client.delete(URL)
    assert missing.status_code == 400 and missing.json()["details"][0]["field"] == "reference"


def test_force_pushes_again_and_restores_a_product_deleted_by_hand(api_client, sandbox_shop):
    api_client.post_json(URL, product_payload())
    sandbox_shop.delete_product_by_hand(Product.objects.get().presta_id)

    response = api_client.post_json(f"{URL}?force=1", product_payload(operation="update"))

    assert response.status_code == 200, response.content
    assert sandbox_shop.product_by_reference("PROD001") is not None


def test_partial_update_with_images_and_features_reaches_the_shop(api_client, sandbox_shop):
    technical = [
        {"Gruppo": "Elettrico", "Descrizione": "Potenza", "Valore": "1500", "Suffisso": "W", "PrintOrder": 2},
        {"Gruppo": "Dimensioni", "Descrizione": "Peso netto", "Valore": "12", "Suffisso": "kg", "PrintOrder": 1},
    ]
    response = api_client.post_json(
        URL, product_payload(images=[image_item("a.png"), image_item("b.jpg", "JPEG")], technical_data=technical)
    )

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["imagesProcessed"] == 2
    assert data["technicalDataProcessed"] == 2
    shop_product = sandbox_shop.product_by_reference("PROD001")
    assert len(shop_product["images"]) == 2
    assert shop_product["id_default_image"] == shop_product["images"][0]["id"]
    values = [sandbox_shop.feature_value_text(v) for _, v in shop_product["features"]]
    assert sorted(values) == ["12 kg", "1500 W"]


def test_brand_becomes_one_manufacturer_reused_by_every_product(api_client, sandbox_shop):
    first = api_client.post_json(URL, product_payload())
    second = api_client.post_json(URL, product_payload(reference="PROD002", brand={"name": "coffeepro"}))
    third = api_client.post_json(URL, product_payload(reference="PROD003", brand={"name": "CoffeePro"}))

    assert first.status_code == second.status_code == third.status_code == 200
    makers = sandbox_shop.manufacturers_named("CoffeePro")
    assert len(makers) == 1
    for reference in ("PROD001", "PROD002", "PROD003"):
        assert sandbox_shop.product_by_reference(reference)["id_manufacturer"] == makers[0]["id"]


def test_update_without_changes_makes_no_shop_call_and_price_change_one(api_client, sandbox_shop):
    api_client.post_json(URL, product_payload(images=[image_item("a.png")]))
    sandbox_shop.reset_calls()

    same = api_client.post_json(URL, product_payload(operation="update", images=[image_item("a.png")]))
    calls_unchanged = len(sandbox_shop.calls)
    cheaper = api_client.post_json(URL, product_payload(operation="update", price=999.5))

    assert same.status_code == 200 and same.json()["data"]["status"] == "completed"
    assert calls_unchanged == 0
    assert [m for m, _ in sandbox_shop.calls] == ["PATCH"]
    assert cheaper.json()["data"]["imagesProcessed"] == 1
    assert sandbox_shop.product_by_reference("PROD001")["price"] == Decimal("999.5")
    assert SyncJob.objects.filter(outcome="unchanged").count() == 1


def test_images_arrive_in_order_with_their_bytes_and_only_changes_are_sent(api_client, sandbox_shop):
    import base64
    import hashlib

    images = [image_item(f"p{i}.png", color=(i * 60, 20, 20)) for i in range(3)]
    api_client.post_json(URL, product_payload(images=images))
    shop_images = sandbox_shop.product_by_reference("PROD001")["images"]
    sent = [hashlib.sha256(base64.b64decode(i["base64"])).hexdigest() for i in images]
    assert [img["sha256"] for img in shop_images] == sent
    assert (
        shop_images[0]["cover"]
        and shop_images[0]["id"] == sandbox_shop.product_by_reference("PROD001")["id_default_image"]
    )
    kept_ids = [img["id"] for img in shop_images[:2]]

    replaced = [*images[:2], image_item("new.jpg", "JPEG", color=(1, 2, 3))]
    sandbox_shop.reset_calls()
    response = api_client.post_json(URL, product_payload(operation="update", images=replaced))

    assert response.json()["data"]["imagesProcessed"] == 3
    after = sandbox_shop.product_by_reference("PROD001")["images"]
    assert [img["id"] for img in after[:2]] == kept_ids  # unchanged bytes: not uploaded again
    assert len(after) == 3 and after[2]["filename"].endswith(".jpg")
    methods = sorted(m for m, _ in sandbox_shop.calls)
    assert methods == ["DELETE", "POST"]  # one image removed, one uploaded, nothing else


def test_image_the_shop_failed_makes_the_job_partial_and_it_is_retried(
    api_client, sandbox_shop, django_capture_on_commit_callbacks
):
    from syncjobs.services.runner import job_run

    api_client.post_json(URL, product_payload())
    sandbox_shop.fail_next(1, status=503)  # the image upload: the shop fails, it does not refuse
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_client.post_json(URL, product_payload(operation="update", images=[image_item("a.png")]))

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "partial" and data["imagesProcessed"] == 0
    job = SyncJob.objects.get(sync_id=data["syncId"])
    assert "a.png" in job.error and job.next_retry_at is not None
    assert callbacks, "the retry is queued after commit"

    job = job_run(job_id=job.pk)

    assert job.status == "completed" and job.images_processed == 1 and job.error == ""
    assert len(sandbox_shop.product_by_reference("PROD001")["images"]) == 1


def test_image_the_shop_refuses_makes_the_job_partial_without_retry(api_client, sandbox_shop, settings):
    settings.PRESTASHOP_IMAGE_MAX_BYTES = 50_000_000  # let the oversized file through to the shop
    sandbox_shop.webservice.image_max_bytes = 300  # the shop's own upload limit refuses it (400)
    response = api_client.post_json(
        URL, product_payload(images=[image_item("a.png"), image_item("big.png", size=(400, 400), color=(9, 9, 9))])
    )

    data = response.json()["data"]
    job = SyncJob.objects.get(sync_id=data["syncId"])
    assert response.status_code == 200 and data["status"] == "partial"
    assert job.next_retry_at is None and "big.png" in job.error
    assert job.error_details[0]["field"] in ("images[0]", "images[1]")
