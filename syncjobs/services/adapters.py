"""Model → connector adapters: what the service holds, as each connector wants it (plain data, no models).

One function per connector. Adding an ERP field touches the validation, the model, the adapter of each
connector here, and their tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connection

from catalog.models import ImageBlob, Product
from connectors.prestashop.mapping import feature_pairs
from connectors.prestashop.state import ShopState
from connectors.prestashop.types import FeatureSpec, ImageSpec, ProductSpec
from connectors.productsup.rows import RowSource

# The Product columns `productsup_row_source` reads (a selector fetches them with `.values(*...)`).
PRODUCTSUP_FIELDS: tuple[str, ...] = (
    "pk",
    "reference",
    "name",
    "description",
    "price",
    "quantity",
    "active",
    "ean13",
    "weight",
    "brand__name",
    "categories",
    "is_deleted",
)


def product_features(product: Product) -> list[FeatureSpec]:
    """The product's technical data as the shop's features, in print order."""
    return feature_pairs(
        [
            {
                "Gruppo": t.gruppo,
                "Descrizione": t.descrizione,
                "Valore": t.valore,
                "Suffisso": t.suffisso,
                "PrintOrder": t.print_order,
            }
            for t in sorted(product.technical_data.all(), key=lambda t: t.position)  # prefetched by a resync
        ]
    )


def _image_loader(blob_id: str):
    """Reads one image's bytes when the shop needs them (a worker thread closes its own connection)."""

    def load() -> bytes:
        try:
            return bytes(ImageBlob.objects.values_list("content", flat=True).get(pk=blob_id))
        finally:
            if threading.current_thread() is not threading.main_thread():
                connection.close()

    return load


def product_spec(
    product: Product,
    *,
    manufacturer_id: int | None,
    feature_values: list[tuple[int, int]],
    state: ShopState | None = None,
) -> ProductSpec:
    """The PrestaShop connector's view of the product (ids of the manufacturer and features resolved).

    Images carry their hash; the bytes of images the shop does not have yet (per `state`) are read now in
    one query, the others only if the shop turns out to need them."""
    rows = [(img.blob_id, img.file_name) for img in sorted(product.images.all(), key=lambda img: img.position)]
    in_shop = set(state.image_ids()) if state is not None else set()
    needed = {blob_id for blob_id, _ in rows if blob_id not in in_shop}
    content = dict(ImageBlob.objects.filter(pk__in=needed).values_list("sha256", "content")) if needed else {}
    images = [
        ImageSpec(
            sha256=blob_id,
            file_name=file_name,
            content=bytes(content[blob_id]) if blob_id in content else None,
            loader=_image_loader(blob_id),
        )
        for blob_id, file_name in rows
    ]
    return ProductSpec(
        reference=product.reference,
        name=product.name,
        description=product.description,
        price=product.price,
        quantity=product.quantity,
        active=product.active,
        category_ids=list(product.categories or []),
        ean13=product.ean13,
        weight=product.weight,
        manufacturer_id=manufacturer_id,
        images=images,
        feature_values=feature_values,
    )


def productsup_row_source(
    row: Mapping[Any, Any], *, image_ids: Sequence[int], specs: Iterable[tuple[str, str]]
) -> RowSource:
    """The Productsup connector's view of one product: `row` holds PRODUCTSUP_FIELDS, `image_ids` the
    shop's image ids in position order, `specs` (Descrizione, value) in print order."""
    return RowSource(
        reference=row["reference"],
        name=row["name"],
        description=row["description"],
        price=row["price"],
        quantity=row["quantity"],
        active=row["active"],
        ean13=row["ean13"],
        weight=row["weight"],
        brand=row["brand__name"] or "",
        category_ids=[int(c) for c in (row["categories"] or []) if str(c).lstrip("-").isdigit()],
        image_ids=image_ids,
        specs=tuple(specs),
        is_deleted=row["is_deleted"],
    )
