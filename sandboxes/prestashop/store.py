"""The sandbox shop's data: PrestaShop's tables as Python dicts behind one lock, plus read helpers for tests.

Records hold values the way MySQL gives them back (`"19.900000"`, `"1"`, `"0000-00-00"`); multilang fields
are `{id_lang: text}`. Side tables: category links, feature links, images (original bytes and the re-encoded
file the shop serves).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import threading
import time
from decimal import Decimal
from pathlib import Path

from .php import collate, str2url
from .resources import RESOURCES, Resource

SHOP_ID = 1
DEFAULT_LANG = 1

_CATEGORY_NAMES = [
    ("Electronics", "Elettronica"),
    ("Home appliances", "Elettrodomestici"),
    ("Kitchen", "Cucina"),
    ("Coffee machines", "Macchine da caffè"),
    ("Small appliances", "Piccoli elettrodomestici"),
    ("Cleaning", "Pulizia"),
    ("Heating", "Riscaldamento"),
    ("Air conditioning", "Climatizzazione"),
    ("Lighting", "Illuminazione"),
    ("Garden", "Giardino"),
    ("Tools", "Utensili"),
    ("Audio", "Audio"),
    ("TV & Video", "TV e video"),
    ("Computers", "Computer"),
    ("Phones", "Telefonia"),
    ("Personal care", "Cura della persona"),
    ("Accessories", "Accessori"),
    ("Spare parts", "Ricambi"),
]


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


class Store:
    """All shop data. Every read or write of the tables happens with `lock` held."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, dict[int, dict]] = {name: {} for name in RESOURCES}
        self.next_ids: dict[str, int] = {name: 1 for name in RESOURCES}
        self.product_categories: dict[int, list[int]] = {}  # id_product -> linked category ids (incl. unknown)
        self.category_products: dict[int, list[int]] = {}  # id_category -> products in position order
        self.product_features: dict[int, list[tuple[int, int]]] = {}  # id_product -> (id_feature, id_value)
        self.images: dict[int, dict] = {}
        self.next_image_id = 1
        self.seed()

    # ------------------------------------------------------------------------------------------ seed & records

    def blank(self, resource: Resource) -> dict:
        record: dict = {}
        for f in resource.fields:
            if f.lang:
                record[f.name] = {lang: "" for lang in self.language_ids()} if self.tables.get("languages") else {}
            elif f.type in ("int", "bool"):
                record[f.name] = None if f.allow_null else "0"
            elif f.type == "float":
                record[f.name] = "0.000000" if resource.decimals else "0"
            elif f.type == "date":
                record[f.name] = "0000-00-00"
            else:
                record[f.name] = f.default or ""
        return record

    def insert(self, api: str, values: dict, record_id: int | None = None) -> int:
        resource = RESOURCES[api]
        record = self.blank(resource)
        record.update(values)
        record_id = record_id or self.next_ids[api]
        self.next_ids[api] = max(self.next_ids[api], record_id + 1)
        record["id"] = str(record_id)
        self.tables[api][record_id] = record
        return record_id

    def seed(self) -> None:
        stamp = now()
        self.insert(
            "languages",
            {
                "name": "English (English)",
                "iso_code": "en",
                "locale": "en-US",
                "language_code": "en-us",
                "active": "1",
                "is_rtl": "0",
                "date_format_lite": "m/d/Y",
                "date_format_full": "m/d/Y H:i:s",
            },
        )
        self.insert(
            "languages",
            {
                "name": "Italiano (Italian)",
                "iso_code": "it",
                "locale": "it-IT",
                "language_code": "it-it",
                "active": "1",
                "is_rtl": "0",
                "date_format_lite": "d/m/Y",
                "date_format_full": "d/m/Y H:i:s",
            },
        )
        cats = [(1, 0, 0, "1", ("Root", "Root")), (2, 1, 1, "0", ("Home", "Home"))]
        cats += [(i + 3, 2, 2, "0", names) for i, names in enumerate(_CATEGORY_NAMES)]
        for position, (cid, parent, depth, is_root, names) in enumerate(cats):
            self.insert(
                "categories",
                {
                    "id_parent": str(parent),
                    "level_depth": str(depth),
                    "active": "1",
                    "id_shop_default": "1",
                    "is_root_category": is_root,
                    "position": str(max(position - 2, 0)),
                    "date_add": stamp,
                    "date_upd": stamp,
                    "name": {1: names[0], 2: names[1]},
                    "link_rewrite": {1: str2url(names[0]), 2: str2url(names[1])},
                    "description": {1: "", 2: ""},
                    "additional_description": {1: "", 2: ""},
                    "meta_title": {1: "", 2: ""},
                    "meta_description": {1: "", 2: ""},
                    "meta_keywords": {1: "", 2: ""},
                },
                record_id=cid,
            )

    def language_ids(self) -> list[int]:
        return sorted(self.tables["languages"])

    def active_language_ids(self) -> list[int]:
        return [i for i, r in sorted(self.tables["languages"].items()) if r["active"] == "1"]

    # ------------------------------------------------------------------------------------------ relations

    def category_exists_in_shop(self, cid: int) -> bool:
        return cid in self.tables["categories"]

    def product_images(self, pid: int) -> list[dict]:
        return sorted((i for i in self.images.values() if i["id_product"] == pid), key=lambda i: i["position"])

    def cover_id(self, pid: int) -> int | None:
        for image in self.product_images(pid):
            if image["cover"]:
                return image["id"]
        return None

    def stock_rows(self, pid: int, in_shop_only: bool = True) -> list[dict]:
        rows = [r for r in self.tables["stock_availables"].values() if r["id_product"] == str(pid)]
        if in_shop_only:
            rows = [r for r in rows if r["id_shop"] == str(SHOP_ID)]
        return sorted(rows, key=lambda r: int(r["id"]))

    def quantity(self, pid: int) -> int:
        for row in self.stock_rows(pid):
            if row["id_product_attribute"] == "0":
                return int(row["quantity"])
        return 0

    def set_product_categories(self, pid: int, ids: list[int]) -> None:
        unique = list(dict.fromkeys(ids))
        for cid in self.product_categories.get(pid, []):
            if cid not in unique and pid in self.category_products.get(cid, []):
                self.category_products[cid].remove(pid)
        for cid in unique:
            members = self.category_products.setdefault(cid, [])
            if pid not in members:
                members.append(pid)
        self.product_categories[pid] = unique

    def delete_product(self, pid: int) -> None:
        self.tables["products"].pop(pid, None)
        for row in self.stock_rows(pid, in_shop_only=False):
            self.tables["stock_availables"].pop(int(row["id"]), None)
        for cid in self.product_categories.pop(pid, []):
            if pid in self.category_products.get(cid, []):
                self.category_products[cid].remove(pid)
        self.product_features.pop(pid, None)
        for image in self.product_images(pid):
            self.images.pop(image["id"], None)

    # ------------------------------------------------------------------------------------------ read helpers

    def product(self, pid: int) -> dict | None:
        """A product as plain Python values (None when it does not exist)."""
        with self.lock:
            record = self.tables["products"].get(pid)
            if record is None:
                return None
            stock = self.stock_rows(pid, in_shop_only=False)
            return {
                "id": pid,
                "reference": record["reference"],
                "name": dict(record["name"]),
                "description": dict(record["description"]),
                "description_short": dict(record["description_short"]),
                "link_rewrite": dict(record["link_rewrite"]),
                "price": Decimal(record["price"]),
                "weight": Decimal(record["weight"]),
                "ean13": record["ean13"],
                "active": record["active"] == "1",
                "state": int(record["state"]),
                "visibility": record["visibility"],
                "available_for_order": record["available_for_order"] == "1",
                "show_price": record["show_price"] == "1",
                "id_category_default": int(record["id_category_default"]),
                "categories": [
                    c for c in sorted(self.product_categories.get(pid, [])) if self.category_exists_in_shop(c)
                ],
                "linked_category_ids": list(self.product_categories.get(pid, [])),
                "id_manufacturer": int(record["id_manufacturer"]),
                "manufacturer_name": self.manufacturer_name(int(record["id_manufacturer"])),
                "features": list(self.product_features.get(pid, [])),
                "images": [
                    {
                        "id": i["id"],
                        "position": i["position"],
                        "cover": i["cover"],
                        "bytes": i["original"],
                        "sha256": i["sha256"],
                        "filename": i["filename"],
                        "served": i["served"],
                    }
                    for i in self.product_images(pid)
                ],
                "id_default_image": self.cover_id(pid),
                "quantity": self.quantity(pid),
                "stock": [
                    {
                        "id": int(r["id"]),
                        "id_product_attribute": int(r["id_product_attribute"]),
                        "id_shop": int(r["id_shop"]),
                        "quantity": int(r["quantity"]),
                        "depends_on_stock": r["depends_on_stock"] == "1",
                        "out_of_stock": int(r["out_of_stock"]),
                    }
                    for r in stock
                ],
                "record": copy.deepcopy(record),
            }

    def products(self) -> list[dict]:
        with self.lock:
            ids = sorted(self.tables["products"])
        return [p for p in (self.product(i) for i in ids) if p is not None]

    def product_by_reference(self, reference: str) -> dict | None:
        """Exact (case-sensitive) reference match, unlike the shop's own filter."""
        with self.lock:
            for pid, record in sorted(self.tables["products"].items()):
                if record["reference"] == reference:
                    return self.product(pid)
        return None

    def manufacturer_name(self, mid: int) -> str:
        record = self.tables["manufacturers"].get(mid)
        return record["name"] if record else ""

    def manufacturers_named(self, name: str) -> list[dict]:
        """Manufacturers whose name equals `name` under the shop's collation (case/accents ignored)."""
        with self.lock:
            return [
                {"id": mid, "name": r["name"], "active": r["active"] == "1"}
                for mid, r in sorted(self.tables["manufacturers"].items())
                if collate(r["name"]) == collate(name)
            ]

    def feature_named(self, name: str, lang: int = DEFAULT_LANG) -> dict | None:
        with self.lock:
            for fid, r in sorted(self.tables["product_features"].items()):
                if r["name"].get(lang, "") == name:
                    values = [
                        {"id": vid, "value": dict(v["value"]), "custom": v["custom"] == "1"}
                        for vid, v in sorted(self.tables["product_feature_values"].items())
                        if v["id_feature"] == str(fid)
                    ]
                    return {"id": fid, "name": dict(r["name"]), "values": values}
        return None

    def feature_value_text(self, value_id: int, lang: int = DEFAULT_LANG) -> str | None:
        with self.lock:
            record = self.tables["product_feature_values"].get(value_id)
            return None if record is None else record["value"].get(lang, "")

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {**{k: len(v) for k, v in self.tables.items()}, "images": len(self.images)}

    # ------------------------------------------------------------------------------------------ persistence

    def to_json(self) -> dict:
        with self.lock:
            return {
                "tables": {api: {str(i): r for i, r in t.items()} for api, t in self.tables.items()},
                "next_ids": self.next_ids,
                "product_categories": {str(k): v for k, v in self.product_categories.items()},
                "category_products": {str(k): v for k, v in self.category_products.items()},
                "product_features": {str(k): v for k, v in self.product_features.items()},
                "images": {
                    str(i): {
                        **img,
                        "original": base64.b64encode(img["original"]).decode(),
                        "served": base64.b64encode(img["served"]).decode() if img["served"] else None,
                    }
                    for i, img in self.images.items()
                },
                "next_image_id": self.next_image_id,
            }

    def load_json(self, data: dict) -> None:
        def lang_keys(record: dict) -> dict:
            return {k: ({int(lk): lv for lk, lv in v.items()} if isinstance(v, dict) else v) for k, v in record.items()}

        with self.lock:
            self.tables = {
                api: {int(i): lang_keys(r) for i, r in data["tables"].get(api, {}).items()} for api in RESOURCES
            }
            self.next_ids = {api: int(data["next_ids"].get(api, 1)) for api in RESOURCES}
            self.product_categories = {int(k): v for k, v in data["product_categories"].items()}
            self.category_products = {int(k): v for k, v in data["category_products"].items()}
            self.product_features = {int(k): [tuple(x) for x in v] for k, v in data["product_features"].items()}
            self.images = {
                int(i): {
                    **img,
                    "original": base64.b64decode(img["original"]),
                    "served": base64.b64decode(img["served"]) if img["served"] else None,
                }
                for i, img in data["images"].items()
            }
            self.next_image_id = int(data["next_image_id"])

    def save(self, path: Path) -> None:
        data = self.to_json()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)

    @staticmethod
    def sha256(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()
