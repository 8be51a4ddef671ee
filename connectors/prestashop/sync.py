"""ShopSync: make the shop show exactly a `ProductSpec`, with as few Webservice calls as possible.

Calls for a NEW product (the minimum, and why):

    1  GET  products?filter[reference]=[REF]     look up by reference first: never duplicate, adopt instead
    1  POST products                            everything in one write: fields in every language, categories,
                                                features association, manufacturer, state/visibility flags
    1  GET  stock_availables?filter[id_product]  the row's id_shop/out_of_stock (a PUT without id_shop hides it)
    1  PUT  stock_availables/{id}               quantity (both stock calls are skipped when quantity is 0:
                                                a new product's row already holds 0)
    N  POST images/products/{id}                one per image; the first becomes the cover by itself

    = 4 + N (2 + N with quantity 0). The shop's languages come from `facts.ShopFacts` (read once for every
    process); manufacturer and feature ids are resolved beforehand (`resolve`).

Later pushes compare content hashes kept in the `ShopState` and only write what changed (`Plan`): an
unchanged spec makes no call, a price change is one PATCH, a quantity change is one PUT on the remembered
stock row, an image change is one call per added/removed image (+ one PATCH when the cover changes).

`verify=True` first compares the shop's copy with the spec (`diff.differences`, also used by the dry run):
read now (`GET products/{id}` + its stock row) or given by the caller from a bulk read (`read_copies`).

When a push fails part way it raises `PushFailed` with the state as far as it got, so the caller can store
it; with no state the next push simply adopts the product by reference.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from connectors.http import RemoteError, RemoteNotFound
from connectors.prestashop import mapping
from connectors.prestashop import xml as psxml
from connectors.prestashop.client import PrestaShopClient
from connectors.prestashop.diff import Differences, ShopCopy, differences, product_display
from connectors.prestashop.facts import ShopFacts
from connectors.prestashop.image_sync import ImageSync, images_changed, refused_errors
from connectors.prestashop.state import Hashes, ShopState, StockRow
from connectors.prestashop.types import ImageError, ProductSpec, PushFailed, PushResult

logger = logging.getLogger("connectors.prestashop")

BULK_PAGE = 1000  # products (or stock rows) per listing call in `read_copies`


def _sha(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def core_hash(fields: dict[Any, Any]) -> str:
    return _sha(psxml.build("product", fields))


def features_hash(pairs: list[tuple[int, int]]) -> str:
    return _sha(json.dumps([[int(f), int(v)] for f, v in pairs]))


def dedupe_pairs(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for f, v in pairs:
        pair = (int(f), int(v))
        if pair not in out:
            out.append(pair)
    return out


@dataclass
class Plan:
    """What one push writes. Each part is skipped when its hash matches what was last written (and, when
    verifying, the shop's copy agrees)."""

    core: bool = False  # PATCH the product's own fields
    features: bool = False  # PATCH its features association (replaces the whole set)
    stock: bool = False  # PUT the quantity on its stock row
    images: bool = False  # delete/upload images, fix the cover

    def __bool__(self) -> bool:
        return self.core or self.features or self.stock or self.images


class _Restart(Exception):
    """The product is gone from the shop: forget the state and adopt/create again."""


class ShopSync:
    """Pushes products to one shop. Safe to share between threads (it keeps no per-product data)."""

    def __init__(
        self,
        client: PrestaShopClient,
        facts: ShopFacts,
        *,
        default_category_id: int = 2,
        image_max_bytes: int = 2_000_000,
        image_max_pixels: int = 1200,
    ) -> None:
        self.client = client
        self.facts = facts
        self.default_category_id = int(default_category_id)
        self.images = ImageSync(client, facts, image_max_bytes, image_max_pixels)

    # ------------------------------------------------------------------ push
    def push_product(
        self,
        spec: ProductSpec,
        state: ShopState | None,
        *,
        force: bool = False,
        verify: bool = False,
        shop_copy: ShopCopy | None = None,
        copy_read: bool = False,
    ) -> PushResult:
        """Create or update the shop product so it shows exactly `spec`. See the module docstring.

        `copy_read=True` says the caller read the shop in bulk: `shop_copy` is the product's copy, or None
        when the shop no longer has it."""
        progress = [state.copy() if state else None]
        with self.client.counting() as counter:
            try:
                try:
                    result = self._push(spec, progress, force=force, verify=verify, copy=(copy_read, shop_copy))
                except _Restart:
                    progress[0] = None
                    result = self._push(spec, progress, force=True, verify=False, copy=(False, None), restored=True)
            except RemoteError as exc:
                raise PushFailed(exc, progress[0]) from exc
        result.calls = counter[0]
        return result

    def _push(
        self,
        spec: ProductSpec,
        progress: list[ShopState | None],
        *,
        force: bool,
        verify: bool,
        copy: tuple[bool, ShopCopy | None],
        restored: bool = False,
    ) -> PushResult:
        st = progress[0]
        adopted = created = False
        full = force
        if st is None:
            st, adopted = self._adopt_or_create(spec)
            created = not adopted
            full = full or adopted
            progress[0] = st

        presta_id = st.presta_id
        warnings: list[str] = []
        try:
            if created:
                fields, warnings = self._fields(spec, st.languages)
                plan = Plan(stock=spec.quantity != 0, images=bool(spec.images))
                shop_cover = None
            else:
                fields, warnings = self._fields(spec, self.facts.languages())
                drift, shop_cover = None, st.cover
                if verify and not full:
                    drift, shop_cover = self._drift(spec, st, fields, copy)
                plan = self._plan(spec, st, fields, full=full, drift=drift)
                self._write_product(presta_id, spec, st, fields, plan)

            if plan.stock:
                self._write_stock(st, spec.quantity)
            st.hashes.quantity = spec.quantity

            image_errors: list[ImageError] = []
            if plan.images:
                self.images.sync(
                    presta_id,
                    spec,
                    st,
                    force=full,
                    shop_cover=shop_cover,
                    warnings=warnings,
                    image_errors=image_errors,
                )
            else:
                image_errors = refused_errors(spec, st)
        except RemoteNotFound:
            if created or restored:
                raise
            logger.warning("prestashop: product %s is gone from the shop, restoring %r", presta_id, spec.reference)
            raise _Restart() from None

        return PushResult(
            presta_id=presta_id,
            state=st.copy(),
            warnings=warnings,
            images_processed=len(st.images),
            features_processed=len(dedupe_pairs(spec.feature_values)),
            image_errors=image_errors,
            changed=created or adopted or bool(plan),
            adopted=adopted,
        )

    # ------------------------------------------------------------------ steps
    def _fields(self, spec: ProductSpec, languages: list[int]) -> tuple[dict[Any, Any], list[str]]:
        return mapping.core_fields(spec, languages=languages, default_category_id=self.default_category_id)

    def _adopt_or_create(self, spec: ProductSpec) -> tuple[ShopState, bool]:
        """(state, adopted): an existing shop product with exactly this reference is adopted, else created."""
        ids = self.client.find_products_by_reference(spec.reference)
        if len(ids) > 1:
            logger.warning("prestashop: %d products with reference %r, adopting %d", len(ids), spec.reference, ids[0])
        if ids:
            return ShopState(presta_id=ids[0], languages=self.facts.languages(), images_dirty=True), True
        return self._create(spec), False

    def _create(self, spec: ProductSpec) -> ShopState:
        """One POST with every field and association; the answer names the product's stock row."""
        languages = self.facts.languages()
        fields, _ = self._fields(spec, languages)
        hashes = Hashes(core=core_hash(fields), features=features_hash(spec.feature_values), quantity=0)
        pairs = dedupe_pairs(spec.feature_values)
        if pairs:
            fields["product_features"] = mapping.features_assoc(pairs)
        row = self.client.create_product(fields)
        st = ShopState(presta_id=int(row["id"]), languages=languages, hashes=hashes)
        for stock in row.get("associations", {}).get("stock_availables", []):
            if str(stock.get("id_product_attribute", "0")) == "0" and stock.get("id"):
                st.stock = StockRow(id=int(stock["id"]))
        return st

    def _drift(
        self, spec: ProductSpec, st: ShopState, fields: dict[Any, Any], copy: tuple[bool, ShopCopy | None]
    ) -> tuple[Differences, int | None]:
        """Compare with the shop's copy (read now unless the caller read it in bulk): the differences and the
        shop's cover image. A product the shop no longer has → RemoteNotFound (the push restarts)."""
        copy_read, shop = copy
        if not copy_read:
            shop = self.read_copy(st.presta_id)  # 404 → RemoteNotFound → restart
        if shop is None:
            raise RemoteNotFound(f"PrestaShop: product {st.presta_id} is not in the shop", system="prestashop")
        if shop.stock is not None:
            st.stock = StockRow.from_shop(shop.stock, st.presta_id)
        drift = differences(
            shop, fields=fields, feature_pairs=dedupe_pairs(spec.feature_values), quantity=spec.quantity, state=st
        )
        if drift.images:
            st.images_dirty = True  # images added or removed by hand
        return drift, shop.cover()

    @staticmethod
    def _plan(
        spec: ProductSpec, st: ShopState, fields: dict[Any, Any], *, full: bool, drift: Differences | None
    ) -> Plan:
        return Plan(
            core=full or core_hash(fields) != st.hashes.core or bool(drift and drift.core),
            features=full or features_hash(spec.feature_values) != st.hashes.features or bool(drift and drift.features),
            stock=full or spec.quantity != st.hashes.quantity or bool(drift and drift.quantity),
            images=full or st.images_dirty or images_changed(spec, st) or bool(drift and (drift.images or drift.cover)),
        )

    def _write_product(
        self, presta_id: int, spec: ProductSpec, st: ShopState, fields: dict[Any, Any], plan: Plan
    ) -> None:
        """One PATCH with the core fields and/or the features association, as the plan says."""
        if not (plan.core or plan.features):
            return
        patch: dict[Any, Any] = {}
        if plan.core:
            st.languages = self.facts.languages()
            patch.update(fields)
        if plan.features:
            patch["product_features"] = mapping.features_assoc(dedupe_pairs(spec.feature_values))
        self.client.patch_product(presta_id, patch)
        if plan.core:
            st.hashes.core = core_hash(fields)
        if plan.features:
            st.hashes.features = features_hash(spec.feature_values)

    def _write_stock(self, st: ShopState, quantity: int) -> None:
        """PUT the quantity on the product's stock row (read once, then remembered in the state)."""
        if st.stock is None or not st.stock.complete:
            st.stock = StockRow.from_shop(self.client.product_stock(st.presta_id), st.presta_id)
        self.client.set_stock(st.stock.to_json(), quantity)
        st.hashes.quantity = quantity

    def needs_push(
        self, spec: ProductSpec, state: ShopState, shop_copy: ShopCopy | None, *, languages: list[int] | None = None
    ) -> bool:
        """Whether a verifying push against this copy (read in bulk; None: the shop no longer has the product)
        would write anything. No call (`languages` saves even the cache read)."""
        if shop_copy is None:
            return True
        fields, _ = self._fields(spec, languages or self.facts.languages())
        drift = differences(
            shop_copy,
            fields=fields,
            feature_pairs=dedupe_pairs(spec.feature_values),
            quantity=spec.quantity,
            state=state,
        )
        st = state.copy() if drift.images else state
        if drift.images:
            st.images_dirty = True
        return bool(self._plan(spec, st, fields, full=False, drift=drift))

    # ------------------------------------------------------------------ reading the shop's copies
    def read_copy(self, presta_id: int) -> ShopCopy:
        """One product's copy: `GET products/{id}` and its stock row (2 calls). 404 → RemoteNotFound."""
        product = self.client.get_product(presta_id)
        return ShopCopy(product=product, stock=self.client.product_stock(presta_id))

    def read_copies(self, presta_ids: list[int], *, page: int = BULK_PAGE) -> dict[int, ShopCopy]:
        """Many products' copies in pages: per page one products listing and one stock listing
        (`filter[id]=[a|b|…]`, `display=`), so 2 calls per `page` products. Ids the shop does not have are
        absent from the answer."""
        out: dict[int, ShopCopy] = {}
        ids = sorted({int(i) for i in presta_ids})
        display = product_display()
        for start in range(0, len(ids), page):
            chunk = ids[start : start + page]
            wanted = "[" + "|".join(str(i) for i in chunk) + "]"
            rows = self.client.list_resource(
                "products", {"filter[id]": wanted, "display": display, "limit": f"0,{len(chunk)}"}
            )
            stock_rows = self.client.list_resource(
                "stock_availables",
                {"filter[id_product]": wanted, "filter[id_product_attribute]": "[0]", "display": "full"},
            )
            stock = {int(r["id_product"]): r for r in stock_rows if r.get("id_product")}
            for row in rows:
                pid = int(row["id"])
                out[pid] = ShopCopy(product=row, stock=stock.get(pid))
        return out

    # ------------------------------------------------------------------ dry run
    def diff_product(
        self, spec: ProductSpec, state: ShopState | None, *, shop_copy: ShopCopy | None = None, copy_read: bool = False
    ) -> list[str]:
        """What `push_product(spec, state, verify=True)` would change, read from the shop without writing."""
        if state is None:
            ids = self.client.find_products_by_reference(spec.reference)
            if ids:
                return [f"existing shop product {ids[0]} would be adopted and overwritten"]
            return ["product would be created in the shop"]
        if not copy_read:
            try:
                shop_copy = self.read_copy(state.presta_id)
            except RemoteNotFound:
                shop_copy = None
        if shop_copy is None:
            return [f"shop product {state.presta_id} is missing and would be recreated"]
        fields, _ = self._fields(spec, self.facts.languages())
        drift = differences(
            shop_copy,
            fields=fields,
            feature_pairs=dedupe_pairs(spec.feature_values),
            quantity=spec.quantity,
            state=state,
        )
        changes = drift.describe()
        if images_changed(spec, state) and "images differ" not in changes:
            changes.append("images differ")
        return changes

    # ------------------------------------------------------------------ delete
    def delete_product(self, *, reference: str | None, presta_id: int | None) -> int | None:
        """Delete the shop product (by id, else found by exact reference). None if nothing was there."""
        if presta_id and self.client.delete_product(int(presta_id)):
            return int(presta_id)
        deleted = None
        if reference:
            for product_id in self.client.find_products_by_reference(reference):
                if self.client.delete_product(product_id) and deleted is None:
                    deleted = product_id
        return deleted
