from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import Product
from syncjobs.services.adapters import PRODUCTSUP_FIELDS, product_features, product_spec, productsup_row_source
from tests.factories.images import image_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(stored):
    stored(
        reference="AD1",
        name="Adapter",
        price=10.5,
        weight=1.25,
        images=[image_item("a.png"), image_item("b.png", color=(1, 2, 3))],
        technical_data=[
            {"Gruppo": "G", "Descrizione": "Power", "Valore": "1500", "Suffisso": "W", "PrintOrder": 2},
            {"Gruppo": "G", "Descrizione": "Colour", "Valore": "Red", "PrintOrder": 1},
        ],
    )
    return Product.objects.get(reference="AD1")


def test_the_shop_spec_carries_the_product_its_images_in_order_and_resolved_ids(product):
    spec = product_spec(product, manufacturer_id=4, feature_values=[(1, 2)])
    assert (spec.reference, spec.name, spec.price, spec.weight) == ("AD1", "Adapter", Decimal("10.5"), Decimal("1.25"))
    assert [i.file_name for i in spec.images] == ["a.png", "b.png"] and spec.images[0].content
    assert spec.category_ids == [5, 12] and spec.manufacturer_id == 4 and spec.feature_values == [(1, 2)]


def test_features_follow_print_order(product):
    assert [f.name for f in product_features(product)] == ["Colour", "Power"]


def test_the_productsup_row_source(product):
    row = Product.objects.filter(pk=product.pk).values(*PRODUCTSUP_FIELDS).get()
    source = productsup_row_source(row, image_ids=[7, 8], specs=[("Power", "1500 W")])
    assert (source.reference, source.brand, source.category_ids) == ("AD1", "CoffeePro", [5, 12])
    assert tuple(source.image_ids) == (7, 8) and source.specs == (("Power", "1500 W"),)
    assert source.is_deleted is False
