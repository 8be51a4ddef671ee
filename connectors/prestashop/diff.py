"""One comparison of what the shop holds with what we would send, for the verifying push, the dry run and
the bulk drift check of the full resync.

`ShopCopy` is the shop's side: a product as the Webservice shows it (a `GET products/{id}` body, or one row
of a `display=[...]` listing with the same fields and associations) and its own stock row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.prestashop import xml as psxml
from connectors.prestashop.state import ShopState
from connectors.prestashop.xml import Assoc, Lang

# What a listing must display for `differences()`: every field `mapping.core_fields` sends, and the
# associations it compares, named like fields with their sub-fields (WebserviceRequest::setFieldsToDisplay:
# `display=[id,price,categories[id],…]`; the rows come back under <associations>).
COMPARED_FIELDS = (
    "id",
    "id_manufacturer",
    "id_category_default",
    "id_default_image",
    "reference",
    "ean13",
    "weight",
    "price",
    "active",
    "state",
    "product_type",
    "available_for_order",
    "show_price",
    "visibility",
    "name",
    "link_rewrite",
    "description",
)
COMPARED_ASSOCIATIONS = ("categories[id]", "product_features[id,id_feature_value]", "images[id]")


def product_display() -> str:
    """The `display=` value that lists products with everything `differences()` compares."""
    return "[" + ",".join(COMPARED_FIELDS + COMPARED_ASSOCIATIONS) + "]"


@dataclass
class ShopCopy:
    product: dict[Any, Any]  # fields as strings, multilang as {lang: text}, "associations" as lists of rows
    stock: dict[Any, Any] | None  # the product's own stock_availables row (id_product_attribute 0), or None

    def quantity(self) -> int:
        return int((self.stock or {}).get("quantity") or 0)

    def feature_pairs(self) -> set[tuple[int, int]]:
        return {
            (int(r.get("id", 0)), int(r.get("id_feature_value", 0)))
            for r in self.product.get("associations", {}).get("product_features", [])
        }

    def image_ids(self) -> set[int]:
        return {int(r["id"]) for r in self.product.get("associations", {}).get("images", []) if r.get("id")}

    def cover(self) -> int | None:
        return int(self.product.get("id_default_image") or 0) or None


@dataclass
class Differences:
    core: list[str] = field(default_factory=list)  # names of the core fields that differ
    features: bool = False
    quantity: tuple[int, int] | None = None  # (in the shop, wanted)
    images: bool = False  # images were added or removed in the shop
    cover: bool = False  # the shop's cover is not the spec's first image

    def __bool__(self) -> bool:
        return bool(self.core or self.features or self.quantity or self.images or self.cover)

    def describe(self) -> list[str]:
        out = [f"{name} differs" for name in self.core]
        if self.features:
            out.append("features differ")
        if self.quantity:
            out.append(f"quantity {self.quantity[0]} → {self.quantity[1]}")
        if self.images or self.cover:
            out.append("images differ")
        return out


def core_differences(shop: dict[Any, Any], fields: dict[Any, Any]) -> list[str]:
    """Names of the fields whose shop value differs from what we would send (`mapping.core_fields`)."""
    names: list[str] = []
    for name, value in fields.items():
        if isinstance(value, Assoc):
            rows = shop.get("associations", {}).get(name, [])
            if {int(r.get("id", 0)) for r in rows} != {int(r["id"]) for r in value.rows}:
                names.append(name)
            continue
        current = shop.get(name, "")
        if isinstance(value, Lang):
            if not isinstance(current, dict) or set(current) != set(value):
                names.append(name)
            elif any((current.get(lang) or "") != psxml.to_text(text) for lang, text in value.items()):
                names.append(name)
        elif isinstance(value, Decimal):
            try:
                if Decimal(str(current or "0")) != Decimal(value):
                    names.append(name)
            except InvalidOperation:
                names.append(name)
        elif str(current if current is not None else "") != psxml.to_text(value):
            names.append(name)
    return names


def differences(
    shop: ShopCopy, *, fields: dict[Any, Any], feature_pairs: list[tuple[int, int]], quantity: int, state: ShopState
) -> Differences:
    """How the shop's copy differs from the fields, features and quantity we would send, and from the
    images the state says we put there."""
    tracked = {t.id for t in state.images}
    return Differences(
        core=core_differences(shop.product, fields),
        features=shop.feature_pairs() != set(feature_pairs),
        quantity=(shop.quantity(), quantity) if shop.quantity() != quantity else None,
        images=shop.image_ids() != tracked,
        cover=bool(state.images) and shop.cover() != state.images[0].id,
    )
