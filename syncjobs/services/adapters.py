"""Model → connector adapters: what the service holds, as each connector wants it (plain data, no models).

One function per connector. Adding an ERP field touches the validation, the model, the adapter of each
connector here, and their tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from catalog.models import Product, ProductImage
from connectors.prestashop.mapping import feature_pairs
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
            for t in product.technical_data.order_by("position")
        ]
    )


def product_spec(
    product: Product, *, manufacturer_id: int | None, feature_values: list[tuple[int, int]]
) -> ProductSpec:
    """The PrestaShop connector's view of the product (ids of the manufacturer and features resolved)."""
    images = [
        ImageSpec(sha256=img.blob_id, file_name=img.file_name, content=bytes(img.blob.content))
        for img in ProductImage.objects.filter(product=product).select_related("blob").order_by("position")
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


def productsup_row_source(row: Mapping, *, image_ids: Sequence[int], specs: Iterable[tuple[str, str]]) -> RowSource:
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
