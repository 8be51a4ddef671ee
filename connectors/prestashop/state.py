"""What the service remembers about one product's shop copy between pushes (`ShopState`).

The caller stores `state.to_json()` (a JSON column) and passes `ShopState.from_json(...)` back on the next
push. The JSON layout is version 1 of the stored format, unchanged since it was a plain dict:

    {"v": 1, "presta_id": 42, "languages": [1, 2],
     "stock": {"id": 7, "id_product": 42, "id_product_attribute": 0, "id_shop": 1, "id_shop_group": 0,
               "out_of_stock": 2, "location": ""},          # {"id": 7} until the row was read, or null
     "hashes": {"core": "<sha256>", "features": "<sha256>", "quantity": 5},
     "images": [{"sha256": "<ERP sha256>", "id": 31}, …],   # shop image ids, spec order, first = cover
     "cover": 31,
     "images_refused": {"<ERP sha256>": "message"},        # not retried until the bytes change or force
     "images_dirty": false}                                 # re-list the shop's images on the next push
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

STATE_VERSION = 1


@dataclass
class StockRow:
    """The product's own `stock_availables` row. `id_shop is None` until the full row was read."""

    id: int
    id_product: int = 0
    id_product_attribute: int = 0
    id_shop: int | None = None
    id_shop_group: int = 0
    out_of_stock: int = 0
    location: str = ""

    @property
    def complete(self) -> bool:
        """True when every field a PUT needs is known (a PUT without id_shop hides the product)."""
        return self.id_shop is not None

    @classmethod
    def from_shop(cls, row: dict[Any, Any], presta_id: int) -> StockRow:
        """From a `stock_availables` GET row (values are strings)."""
        return cls(
            id=int(row["id"]),
            id_product=int(row.get("id_product") or presta_id),
            id_product_attribute=int(row.get("id_product_attribute") or 0),
            id_shop=int(row.get("id_shop") or 0),
            id_shop_group=int(row.get("id_shop_group") or 0),
            out_of_stock=int(row.get("out_of_stock") or 0),
            location=row.get("location") or "",
        )

    def to_json(self) -> dict[Any, Any]:
        if not self.complete:
            return {"id": self.id}
        return {
            "id": self.id,
            "id_product": self.id_product,
            "id_product_attribute": self.id_product_attribute,
            "id_shop": self.id_shop,
            "id_shop_group": self.id_shop_group,
            "out_of_stock": self.out_of_stock,
            "location": self.location,
        }

    @classmethod
    def from_json(cls, data: dict[Any, Any] | None) -> StockRow | None:
        if not data or not data.get("id"):
            return None
        if "id_shop" not in data:
            return cls(id=int(data["id"]))
        return cls(
            id=int(data["id"]),
            id_product=int(data.get("id_product") or 0),
            id_product_attribute=int(data.get("id_product_attribute") or 0),
            id_shop=int(data.get("id_shop") or 0),
            id_shop_group=int(data.get("id_shop_group") or 0),
            out_of_stock=int(data.get("out_of_stock") or 0),
            location=data.get("location") or "",
        )


@dataclass
class Hashes:
    """What was last written, to skip writing it again: hash of the core fields' XML, of the feature
    pairs, and the quantity itself."""

    core: str | None = None
    features: str | None = None
    quantity: int | None = None


@dataclass
class TrackedImage:
    sha256: str  # hash of the bytes the ERP sent
    id: int  # the shop's image id


@dataclass
class ShopState:
    presta_id: int
    languages: list[int] = field(default_factory=list)
    stock: StockRow | None = None
    hashes: Hashes = field(default_factory=Hashes)
    images: list[TrackedImage] = field(default_factory=list)  # spec order, first = cover
    cover: int | None = None
    images_refused: dict[str, str] = field(default_factory=dict)  # ERP sha256 → the shop's message
    images_dirty: bool = False  # the shop's image list must be read again before trusting `images`

    def copy(self) -> ShopState:
        return copy.deepcopy(self)

    def image_ids(self) -> dict[str, int]:
        """ERP image hash → shop image id, for the images in the shop."""
        return {t.sha256: t.id for t in self.images}

    def to_json(self) -> dict[Any, Any]:
        return {
            "v": STATE_VERSION,
            "presta_id": self.presta_id,
            "languages": list(self.languages),
            "stock": self.stock.to_json() if self.stock else None,
            "hashes": {"core": self.hashes.core, "features": self.hashes.features, "quantity": self.hashes.quantity},
            "images": [{"sha256": t.sha256, "id": t.id} for t in self.images],
            "cover": self.cover,
            "images_refused": dict(self.images_refused),
            "images_dirty": self.images_dirty,
        }

    @classmethod
    def from_json(cls, data: dict[Any, Any] | None) -> ShopState | None:
        """None for an empty or unusable stored state (the next push then adopts the product by reference)."""
        if not data or not data.get("presta_id"):
            return None
        hashes = data.get("hashes") or {}
        quantity = hashes.get("quantity")
        return cls(
            presta_id=int(data["presta_id"]),
            languages=[int(i) for i in data.get("languages") or []],
            stock=StockRow.from_json(data.get("stock")),
            hashes=Hashes(
                core=hashes.get("core"),
                features=hashes.get("features"),
                quantity=int(quantity) if quantity is not None else None,
            ),
            images=[
                TrackedImage(sha256=str(i["sha256"]), id=int(i["id"]))
                for i in data.get("images") or []
                if isinstance(i, dict) and i.get("sha256") and i.get("id")
            ],
            cover=int(data["cover"]) if data.get("cover") else None,
            images_refused=dict(data.get("images_refused") or {}),
            images_dirty=bool(data.get("images_dirty")),
        )
