from __future__ import annotations

import pytest

from catalog.models import Brand, Product
from connectors.prestashop.resolve import ShopIds, ValueKey
from connectors.prestashop.types import FeatureSpec
from syncjobs.services.adapters import product_features
from syncjobs.services.shop_ids import dependencies_resolve, shop_ids_load, shop_ids_save

pytestmark = pytest.mark.django_db


def test_resolved_ids_are_remembered_for_every_process():
    power = FeatureSpec(name="Power", value="1500 W", position=0)
    colour = FeatureSpec(name="Colour", value="Red", position=1)
    assert shop_ids_load().missing(features=[power])

    shop_ids_save(new=ShopIds(features={"Power": 3}, values={ValueKey(3, "1500 W"): 21}), brands=[])

    ids = shop_ids_load()
    assert ids.pair(power) == (3, 21)
    assert not ids.missing(features=[power])
    assert ids.missing(features=[power, colour])
    shop_ids_save(new=ShopIds(features={"Power": 99}), brands=[])  # an existing row is left alone
    assert shop_ids_load().features["Power"] == 3


def test_dependencies_of_many_products_resolved_once_in_the_shop(stored, sandbox_shop):
    for i in range(6):
        stored(
            reference=f"DEP{i}",
            brand={"name": f"Marca {i % 2}"},
            technical_data=[
                {"Gruppo": "G", "Descrizione": "Power", "Valore": str(1000 + i), "Suffisso": "W"},
                {"Gruppo": "G", "Descrizione": "Voltage", "Valore": "230", "Suffisso": "V"},
            ],
        )
    products = list(Product.objects.filter(reference__startswith="DEP").select_related("brand"))
    sandbox_shop.reset_calls()

    deps = dependencies_resolve(products=products, features={p.pk: product_features(p) for p in products})

    posts = [path for method, path in sandbox_shop.calls if method == "POST"]
    assert posts.count("/api/manufacturers") == 2 and posts.count("/api/product_features") == 2
    assert posts.count("/api/product_feature_values") == 7  # 6 powers, one shared voltage
    assert deps.calls == len(sandbox_shop.calls)
    brand = Brand.objects.get(name="Marca 1")
    assert brand.presta_manufacturer_id and sandbox_shop.manufacturers_named("Marca 1")
    assert len(deps.feature_values(products[0])) == 2
    # remembered: a second resolution costs nothing
    sandbox_shop.reset_calls()
    products = list(Product.objects.filter(reference__startswith="DEP").select_related("brand"))
    again = dependencies_resolve(products=products, features={p.pk: product_features(p) for p in products})
    assert sandbox_shop.calls == [] and again.calls == 0
    assert again.feature_values(products[3]) == deps.feature_values(products[3])
