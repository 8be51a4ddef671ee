"""catalog/services/products.py: what the ERP sent is stored as it said, before anything is pushed."""

from decimal import Decimal

import pytest

from catalog.models import Brand, ImageBlob, Product
from catalog.services.products import brand_get_or_create, product_mark_deleted, product_upsert
from catalog.validation import product_validate
from tests.factories.catalog import product_payload
from tests.factories.images import image_item

pytestmark = pytest.mark.django_db


def upsert(payload, product=None):
    return product_upsert(data=product_validate(payload), product=product)


def technical(description, value, print_order=0):
    return {"Gruppo": "Dati", "Descrizione": description, "Valore": value, "Suffisso": "W", "PrintOrder": print_order}


def test_create_stores_every_field_and_defaults_the_absent_ones():
    product = upsert(product_payload(description=..., categories=..., brand=...))

    product.refresh_from_db()
    assert (product.reference, product.name, product.price, product.quantity) == (
        "PROD001",
        "Professional Coffee Machine",
        Decimal("1299.99"),
        50,
    )
    assert (product.description, product.categories, product.ean13, product.weight, product.brand) == (
        "",
        [],
        "",
        None,
        None,
    )
    assert product.active is True
    assert product.version == 1


def test_update_keeps_absent_optional_fields_and_bumps_the_version():
    product = upsert(product_payload(ean13="8001234567890", weight=1.5, technical_data=[technical("Potenza", "1500")]))

    updated = upsert({"operation": "update", "reference": "PROD001", "name": "New", "price": 1, "quantity": 2}, product)

    updated.refresh_from_db()
    assert (updated.name, updated.ean13, updated.weight, updated.categories) == (
        "New",
        "8001234567890",
        Decimal("1.500"),
        [5, 12],
    )
    assert updated.brand.name == "CoffeePro"
    assert list(updated.technical_data.values_list("descrizione", flat=True)) == ["Potenza"]
    assert updated.version == 2


def test_update_with_empty_lists_clears_them():
    product = upsert(product_payload(images=[image_item()], technical_data=[technical("Potenza", "1500")]))

    upsert(product_payload(operation="update", images=[], categories=[], technical_data=[]), product)

    product.refresh_from_db()
    assert product.categories == []
    assert product.images.count() == 0
    assert product.technical_data.count() == 0


def test_images_are_stored_once_by_content_and_keep_their_shop_id_while_unchanged():
    first, second = image_item("a.png", color=(1, 2, 3)), image_item("b.png", color=(4, 5, 6))
    product = upsert(product_payload(images=[first, second]))
    product.images.filter(position=0).update(presta_image_id=77)

    upsert(product_payload(operation="update", images=[first, first]), product)

    rows = list(product.images.order_by("position").values_list("file_name", "presta_image_id"))
    assert rows == [("a.png", 77), ("a.png", 77)]
    assert ImageBlob.objects.count() == 2  # b's bytes stay stored (other products may use them)


def test_technical_data_keeps_the_erp_order_and_values():
    product = upsert(product_payload(technical_data=[technical("Potenza", "1500", 2), technical("Colore", "blu", 1)]))

    rows = list(product.technical_data.order_by("position").values_list("descrizione", "valore", "print_order"))
    assert rows == [("Potenza", "1500", 2), ("Colore", "blu", 1)]


def test_brand_is_found_case_insensitively_and_its_description_updated():
    brand = brand_get_or_create(name="CoffeePro", description="old")

    again = brand_get_or_create(name="coffeepro", description="new")

    assert again.pk == brand.pk
    assert Brand.objects.get().description == "new"


def test_a_deleted_product_is_brought_back_by_create():
    product = upsert(product_payload())
    product_mark_deleted(product=product)
    assert Product.objects.get().is_deleted is True

    upsert(product_payload(name="Back again"), Product.objects.get())

    product = Product.objects.get()
    assert (product.is_deleted, product.deleted_at, product.name) == (False, None, "Back again")
    assert product.version == 3


def test_mark_deleted_keeps_the_record():
    product = upsert(product_payload())

    product_mark_deleted(product=product)

    stored = Product.objects.get(reference="PROD001")
    assert stored.is_deleted is True and stored.deleted_at is not None
    assert stored.name == "Professional Coffee Machine"
