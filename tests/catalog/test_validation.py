"""catalog/validation.py called directly (the HTTP matrix is in tests/syncjobs/test_api_validation.py)."""

import hashlib
import json
from decimal import Decimal

import pytest
from rest_framework.exceptions import ValidationError

from catalog.validation import payload_for_storage, product_validate
from config.api.errors import BusinessRuleError
from tests.factories.catalog import product_payload
from tests.factories.images import image_bytes, image_item


def test_valid_product_keeps_price_as_decimal_and_names_the_present_optional_fields():
    validated = product_validate(product_payload(description=..., images=[image_item()]))

    assert (validated.operation, validated.reference) == ("create", "PROD001")
    assert validated.fields["price"] == Decimal("1299.99")
    assert validated.present == {"active", "categories", "brand", "images"}
    assert validated.technical_data is None  # absent: an update keeps what is stored


def test_images_are_decoded_and_hashed():
    validated = product_validate(product_payload(images=[image_item("front.png", "PNG", size=(5, 4))]))

    (image,) = validated.images
    assert (image.file_name, image.format, image.width, image.height) == ("front.png", "png", 5, 4)
    assert image.sha256 == hashlib.sha256(image.content).hexdigest()


def test_technical_data_defaults_suffix_and_print_order():
    validated = product_validate(
        product_payload(technical_data=[{"Gruppo": "G", "Descrizione": "Colore", "Valore": "blu"}])
    )

    assert validated.technical_data == [
        {"gruppo": "G", "descrizione": "Colore", "valore": "blu", "suffisso": "", "print_order": 0}
    ]


def test_duplicate_categories_are_kept_once_in_order():
    assert product_validate(product_payload(categories=[5, 3, 5])).fields["categories"] == [5, 3]


def test_unknown_categories_are_a_business_rule_error_naming_each():
    with pytest.raises(BusinessRuleError) as caught:
        product_validate(product_payload(categories=[5, 99, 98]), check_categories=lambda ids: [99, 98])

    assert [d["field"] for d in caught.value.details] == ["categories", "categories"]
    assert "99" in caught.value.details[0]["message"]


def test_png_bytes_named_jpg_are_a_business_rule_error():
    with pytest.raises(BusinessRuleError) as caught:
        product_validate(product_payload(images=[image_item("photo.jpg", "PNG")]))

    assert caught.value.details[0]["field"] == "images[0].base64"


def test_shape_errors_are_validation_errors():
    with pytest.raises(ValidationError):
        product_validate(product_payload(price=-1))
    with pytest.raises(ValidationError):
        product_validate(["not", "an", "object"])


def test_stored_payload_has_hashes_instead_of_image_bytes():
    payload = product_payload(price=1.5, images=[image_item("a.png")])
    validated = product_validate(payload)

    stored = payload_for_storage(payload, validated.images)

    assert stored["images"][0]["sha256"] == validated.images[0].sha256
    assert stored["images"][0]["size"] == len(image_bytes())
    assert "base64" not in stored["images"][0]
    assert stored["price"] == 1.5


def test_stored_payload_keeps_the_erps_numbers_as_numbers():
    body = '{"price": 1199.99, "weight": 0.1, "quantity": 5, "name": "1.5"}'
    payload = {**product_payload(), **json.loads(body, parse_float=Decimal)}  # as the API's parser reads it
    stored = payload_for_storage(payload, None)
    assert (
        json.dumps([stored["price"], stored["weight"], stored["quantity"], stored["name"]])
        == '[1199.99, 0.1, 5, "1.5"]'
    )
