"""Our product → PrestaShop product fields (docs/prestashop.md, What reaches the shop).

The shop's own limits are met by adapting, never by failing, and every adaptation is reported as a
warning string (the local record and Productsup keep the ERP's full name).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

from connectors.prestashop.types import FeatureSpec, ProductSpec
from connectors.prestashop.xml import Assoc, Lang

NAME_LIMIT = 128  # Product::$definition name size (ProductSettings::MAX_NAME_LENGTH)
LINK_REWRITE_LIMIT = 128
MANUFACTURER_NAME_LIMIT = 64
FEATURE_NAME_LIMIT = 128
FEATURE_VALUE_LIMIT = 255
CATALOG_NAME_FORBIDDEN = "<>;=#{}"  # Validate::isCatalogName (product and manufacturer names)
GENERIC_NAME_FORBIDDEN = "<>={}"  # Validate::isGenericName (feature names and values)

_SPACES = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_EAN13 = re.compile(r"^[0-9]{0,13}$")  # Validate::isEan13
# Letters NFKD does not decompose into ASCII (what ICU's Latin-ASCII gives for them).
_TRANSLIT = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ł": "l",
        "Ł": "L",
        "þ": "th",
        "Þ": "TH",
        "ð": "d",
        "Ð": "D",
        "ı": "i",
        "ħ": "h",
        "Ħ": "H",
        "×": "x",
    }
)


def clean_name(text: str, forbidden: str) -> tuple[str, bool]:
    """Each forbidden character → a space, runs of whitespace collapsed, ends trimmed."""
    replaced = any(ch in forbidden for ch in text)
    if replaced:
        text = "".join(" " if ch in forbidden else ch for ch in text)
    return _SPACES.sub(" ", text).strip(), replaced


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at the last word boundary that fits (hard cut for one long word)."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit + 1)
    if cut <= 0:
        return text[:limit].rstrip()
    return text[:cut].rstrip()


def adapt_name(name: str, limit: int = NAME_LIMIT, *, field: str = "name") -> tuple[str, list[str]]:
    """The ERP name adapted to PrestaShop's `isCatalogName` and size limit, plus one warning per adaptation."""
    warnings: list[str] = []
    cleaned, replaced = clean_name(name or "", CATALOG_NAME_FORBIDDEN)
    if replaced:
        warnings.append(f"{field}: characters not allowed by PrestaShop replaced by spaces")
    short = shorten(cleaned, limit)
    if short != cleaned:
        warnings.append(f"{field} shortened from {len(name)} to {len(short)} characters for PrestaShop (limit {limit})")
    return short, warnings


def str2url(text: str, limit: int = LINK_REWRITE_LIMIT) -> str:
    """A valid PrestaShop slug (Tools::str2url with accented URLs off): lowercase ASCII, accents
    transliterated, anything else → `-`, runs collapsed, ends trimmed, at most `limit` characters."""
    text = unicodedata.normalize("NFKD", (text or "").translate(_TRANSLIT))
    # combining accents dropped, anything else without an ASCII form becomes a separator
    text = "".join(ch if ch.isascii() else ("" if unicodedata.combining(ch) else "-") for ch in text).lower()
    slug = _NON_ALNUM.sub("-", text).strip("-")
    return slug[:limit].strip("-")


def feature_pairs(technical_data: list[dict[Any, Any]]) -> list[FeatureSpec]:
    """ERP technical data → the product's features, in the order the shop shows them.

    Feature name = `Descrizione`; value = `Valore` + " " + `Suffisso` when a suffix is given (`"1500 W"`).
    Ordered by `PrintOrder` (the API stores 0 when the ERP sends none), then by input order. Rows without a name or a value
    are skipped (the shop requires both). `Gruppo` is not sent to the shop.
    """

    def order(item: tuple[int, dict[Any, Any]]) -> tuple[int, int, int]:
        index, row = item
        print_order = row.get("PrintOrder")
        try:
            if print_order is None:
                raise TypeError
            return (0, int(print_order), index)
        except (TypeError, ValueError):
            return (1, 0, index)

    out: list[FeatureSpec] = []
    for _, row in sorted(enumerate(technical_data or []), key=order):
        name = str(row.get("Descrizione") or "").strip()
        value = "" if row.get("Valore") is None else str(row.get("Valore")).strip()
        suffix = str(row.get("Suffisso") or "").strip()
        if suffix and value:
            value = f"{value} {suffix}"
        if not name or not value:
            continue
        out.append(FeatureSpec(name=name, value=value, position=len(out)))
    return out


def feature_name(name: str) -> str:
    """A feature name the shop accepts (`isGenericName`, ≤ 128)."""
    return shorten(clean_name(name, GENERIC_NAME_FORBIDDEN)[0], FEATURE_NAME_LIMIT)


def feature_value(value: str) -> str:
    """A feature value the shop accepts (`isGenericName`, ≤ 255)."""
    return shorten(clean_name(value, GENERIC_NAME_FORBIDDEN)[0], FEATURE_VALUE_LIMIT)


def manufacturer_name(name: str) -> str:
    """A manufacturer name the shop accepts (`isCatalogName`, ≤ 64)."""
    return shorten(clean_name(name, CATALOG_NAME_FORBIDDEN)[0], MANUFACTURER_NAME_LIMIT)


def category_ids(spec: ProductSpec, default_category_id: int) -> list[int]:
    """The product's categories, first = default; none → the configured default only. No duplicates."""
    ids: list[int] = []
    for cid in spec.category_ids or [default_category_id]:
        if int(cid) not in ids:
            ids.append(int(cid))
    return ids


def core_fields(
    spec: ProductSpec, *, languages: list[int], default_category_id: int
) -> tuple[dict[Any, Any], list[str]]:
    """Every product field the sync owns, except features and images, ready for `xml.build`.

    Returns (fields, warnings). Multilang fields carry every shop language.
    """
    name, warnings = adapt_name(spec.name)
    slug = str2url(name) or str2url(spec.reference) or "product"
    ean13 = (spec.ean13 or "").strip()
    if not _EAN13.match(ean13):
        warnings.append(f"ean13 {ean13!r} is not a valid EAN-13 for PrestaShop; sent empty")
        ean13 = ""
    categories = category_ids(spec, default_category_id)
    fields = {
        "id_manufacturer": int(spec.manufacturer_id or 0),
        "id_category_default": categories[0],
        "reference": spec.reference,
        "ean13": ean13,
        "weight": spec.weight if spec.weight is not None else Decimal(0),
        "price": Decimal(spec.price),
        "active": bool(spec.active),
        "state": 1,
        "product_type": "standard",
        "available_for_order": True,
        "show_price": True,
        "visibility": "both",
        "name": Lang({lang: name for lang in languages}),
        "link_rewrite": Lang({lang: slug for lang in languages}),
        "description": Lang({lang: spec.description or "" for lang in languages}),
        "categories": Assoc("category", [{"id": cid} for cid in categories]),
    }
    return fields, warnings


def features_assoc(feature_values: list[tuple[int, int]]) -> Assoc:
    """`associations/product_features` (sending it replaces the product's whole feature set)."""
    return Assoc(
        "product_feature",
        [{"id": int(fid), "id_feature_value": int(vid)} for fid, vid in feature_values],
    )
