"""The whole path on real HTTP: the API stores and pushes a product to the sandbox PrestaShop, and the
Productsup delta that follows carries the shop's image links and the technical data columns."""

from __future__ import annotations

import pytest

from exports.services import productsup_flush
from tests.factories.catalog import product_payload
from tests.factories.images import image_item

URL = "/api/products/sync"
pytestmark = pytest.mark.django_db


def test_a_synced_product_reaches_productsup_with_shop_image_links(api_client, sandbox_shop, productsup, settings):
    settings.PRODUCTSUP_ENABLED = True
    settings.PRESTASHOP_PUBLIC_URL = "https://shop.example.com"
    payload = product_payload(
        images=[image_item("front.png"), image_item("back.png", color=(1, 200, 3))],
        technical_data=[{"Gruppo": "Elettrico", "Descrizione": "Potenza assorbita", "Valore": "1500", "Suffisso": "W"}],
        ean13="4006381333931",
    )
    assert api_client.post_json(URL, payload).status_code == 200

    batch = productsup_flush()

    assert batch is not None and batch.status == "committed"
    row = productsup.site_rows(123)["PROD001"]
    shop_images = [img["id"] for img in sandbox_shop.product_by_reference("PROD001")["images"]]
    first, second = shop_images
    assert row["title"] == "Professional Coffee Machine"
    assert row["price"] == "1299.99"
    assert row["quantity"] in (50, "50")
    assert row["availability"] == "in stock"
    assert row["gtin"] == "4006381333931"
    assert row["brand"] == "CoffeePro"
    assert row["category_ids"] == "5,12"
    assert row["image_link"] == f"https://shop.example.com/img/p/{'/'.join(str(first))}/{first}.jpg"
    assert row["additional_image_link"] == f"https://shop.example.com/img/p/{'/'.join(str(second))}/{second}.jpg"
    assert row["spec_potenza_assorbita"] == "1500 W"


def test_a_deleted_product_reaches_productsup_as_deleted(api_client, sandbox_shop, productsup, settings):
    settings.PRODUCTSUP_ENABLED = True
    api_client.post_json(URL, product_payload())
    productsup_flush()

    assert api_client.delete(f"{URL}?reference=PROD001").status_code == 200
    batch = productsup_flush()

    last_batch_rows = productsup.batch_rows(batch.batch_id)
    assert any(r.get("id") == "PROD001" and str(r.get("pup:isdeleted")) == "-1" for r in last_batch_rows)
    assert "PROD001" not in productsup.site_rows(123)
