"""Our product → one flat Productsup row (docs/productsup.md, The row), and the wire encodings of many rows.

Plain data in, plain data out: the service builds a `RowSource` from the local product (this module
never imports a model), `product_row()` makes the row. Every row of an export carries every column:
the documented columns plus one `spec_<slug>` column per technical datum known to the catalogue (the service
passes the full list), empty string where the product has no value.

Deletions: `deletion_row()` is the same row plus `pup:isdeleted` = -1 (hard) or 1 (soft).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

COLUMNS: tuple[str, ...] = (
    "id",
    "title",
    "description",
    "price",
    "quantity",
    "availability",
    "active",
    "gtin",
    "brand",
    "weight",
    "image_link",
    "additional_image_link",
    "category_ids",
)
SPEC_PREFIX = "spec_"
DELETE_FLAG = "pup:isdeleted"
HARD_DELETE = -1
SOFT_DELETE = 1
IN_STOCK = "in stock"
OUT_OF_STOCK = "out of stock"

_NON_SLUG = re.compile(r"[^a-z0-9]+")
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class RowSource:
    """What a row is made of. `image_ids`: the shop's image ids in position order (pushed images only);
    `specs`: (Descrizione, value as in PrestaShop) in PrintOrder order."""

    reference: str
    name: str
    description: str
    price: Decimal
    quantity: int
    active: bool
    ean13: str = ""
    weight: Decimal | None = None
    brand: str = ""
    category_ids: Sequence[int] = ()
    image_ids: Sequence[int] = ()
    specs: Sequence[tuple[str, str]] = field(default_factory=tuple)
    is_deleted: bool = False


def spec_slug(descrizione: str) -> str:
    """Lowercase ASCII slug with underscores: "Potenza max (W)" → "potenza_max_w"; "" when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", descrizione).encode("ascii", "ignore").decode("ascii")
    return _NON_SLUG.sub("_", ascii_text.lower()).strip("_")


def spec_column(descrizione: str) -> str | None:
    slug = spec_slug(descrizione)
    return SPEC_PREFIX + slug if slug else None


def spec_columns(descrizioni: Iterable[str]) -> list[str]:
    """The sorted, distinct spec columns for a set of Descrizione values (what every row must carry)."""
    return sorted({col for d in descrizioni if (col := spec_column(d))})


def spec_value(valore: str, suffisso: str = "") -> str:
    """The value as PrestaShop shows it (docs/prestashop.md): Valore, then " " + Suffisso when given ("1500 W")."""
    return f"{valore} {suffisso}" if suffisso else valore


def image_url(public_url: str, image_id: int) -> str:
    """PrestaShop's public image path: image 12 → {public}/img/p/1/2/12.jpg (one folder per digit)."""
    digits = str(int(image_id))
    return f"{public_url.rstrip('/')}/img/p/{'/'.join(digits)}/{digits}.jpg"


def format_price(value: Decimal) -> str:
    """A decimal string with at least two decimals and no float rounding: 1299.990000 → "1299.99"."""
    d = Decimal(value).normalize()
    if d.as_tuple().exponent > -2:  # type: ignore[operator]
        d = d.quantize(Decimal("0.01"))
    return format(d, "f")


def format_decimal(value: Decimal | None) -> str:
    """A plain decimal string without trailing zeros: 1.500000 → "1.5", 2 → "2"; None → ""."""
    if value is None:
        return ""
    d = Decimal(value).normalize()
    if d == d.to_integral_value():
        d = d.quantize(Decimal(1))
    return format(d, "f")


def product_row(src: RowSource, *, public_url: str, columns: Sequence[str] = ()) -> dict[Any, Any]:
    """The row of a live product: exactly COLUMNS + the given spec columns, in that order."""
    images = [image_url(public_url, i) for i in src.image_ids]
    row = {
        "id": src.reference,
        "title": src.name,
        "description": src.description or "",
        "price": format_price(src.price),
        "quantity": int(src.quantity),
        "availability": IN_STOCK if src.quantity > 0 else OUT_OF_STOCK,
        "active": "1" if src.active else "0",
        "gtin": src.ean13 or "",
        "brand": src.brand or "",
        "weight": format_decimal(src.weight),
        "image_link": images[0] if images else "",
        "additional_image_link": ",".join(images[1:]),
        "category_ids": ",".join(str(int(c)) for c in src.category_ids),
    }
    specs: dict[str, str] = {}
    for descrizione, value in src.specs:
        col = spec_column(descrizione)
        if col is None:
            continue
        # Two data with one slug ("Peso" and "peso") are joined, never silently dropped.
        specs[col] = f"{specs[col]}, {value}" if col in specs else value
    for col in columns:
        row[col] = specs.pop(col, "")
    for col in sorted(specs):  # a column the caller did not list still reaches Productsup
        row[col] = specs[col]
    return row


def deletion_row(src: RowSource, *, soft: bool, public_url: str, columns: Sequence[str] = ()) -> dict[Any, Any]:
    """The row that deletes a product: its last known values plus `pup:isdeleted` (-1 hard, 1 soft)."""
    row = product_row(src, public_url=public_url, columns=columns)
    row[DELETE_FLAG] = SOFT_DELETE if soft else HARD_DELETE
    return row


def encode_row(row: dict[Any, Any]) -> bytes:
    return _JSON.encode(row).encode("utf-8")


def encode_json_array(rows: Iterable[dict[Any, Any]]) -> bytes:
    """The Platform API upload body: one JSON array."""
    return b"[" + b",".join(encode_row(r) for r in rows) + b"]"


def encode_ndjson(rows: Iterable[dict[Any, Any]]) -> bytes:
    """The Stream API upload body: one JSON object per line."""
    return b"".join(encode_row(r) + b"\n" for r in rows)
