from __future__ import annotations

from decimal import Decimal

import factory

from catalog.models import Brand, Product


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    reference = factory.Sequence(lambda n: f"REF{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    price = Decimal("19.90")
    quantity = 5


def product_payload(**overrides) -> dict:
    """A valid product object (docs/api.md, Product object; the ERP's curl example)."""
    payload = {
        "operation": "create",
        "reference": "PROD001",
        "name": "Professional Coffee Machine",
        "description": "High-end espresso machine",
        "price": 1299.99,
        "quantity": 50,
        "active": True,
        "categories": [5, 12],
        "brand": {"name": "CoffeePro"},
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not ...}
