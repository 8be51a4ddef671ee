"""Products for export tests, made with the ORM (the catalog app's own factories may differ)."""

from __future__ import annotations

import hashlib
import itertools
from decimal import Decimal

from catalog.models import Brand, ImageBlob, Product, ProductImage, TechnicalData

_seq = itertools.count(1)


def blob(seed: str = "x") -> ImageBlob:
    sha = hashlib.sha256(seed.encode()).hexdigest()
    obj, _ = ImageBlob.objects.get_or_create(
        sha256=sha, defaults={"content": b"\xff\xd8\xff", "size": 3, "format": "jpeg", "width": 1, "height": 1}
    )
    return obj


def make_product(
    reference: str | None = None,
    *,
    name: str = "Trapano a percussione",
    price: str = "1299.99",
    quantity: int = 5,
    active: bool = True,
    brand: str | None = "Bosch",
    categories: list[int] | None = None,
    image_ids: list[int | None] | None = None,
    specs: list[tuple[str, str, str]] | None = None,  # (Descrizione, Valore, Suffisso)
    weight: str | None = "1.5",
    ean13: str = "8001234567890",
    dirty: bool = False,
    is_deleted: bool = False,
) -> Product:
    from django.utils import timezone

    n = next(_seq)
    product = Product.objects.create(
        reference=reference or f"REF-{n:05d}",
        name=name,
        description=f"Descrizione {n}",
        price=Decimal(price),
        quantity=quantity,
        active=active,
        categories=[2, 7] if categories is None else categories,
        ean13=ean13,
        weight=Decimal(weight) if weight is not None else None,
        brand=Brand.objects.get_or_create(name=brand)[0] if brand else None,
        is_deleted=is_deleted,
        productsup_dirty_at=timezone.now() if dirty else None,
    )
    for position, image_id in enumerate([12, 345] if image_ids is None else image_ids):
        ProductImage.objects.create(
            product=product, position=position, file_name=f"{position}.jpg", blob=blob(), presta_image_id=image_id
        )
    for position, (descrizione, valore, suffisso) in enumerate(
        [("Potenza", "1500", "W"), ("Colore", "blu", "")] if specs is None else specs
    ):
        TechnicalData.objects.create(
            product=product,
            position=position,
            gruppo="Dati",
            descrizione=descrizione,
            valore=valore,
            suffisso=suffisso,
            print_order=position,
        )
    return product
