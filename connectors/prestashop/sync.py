"""ShopSync: make the shop show exactly a `ProductSpec`, with as few Webservice calls as possible.

Calls for a NEW product (the minimum, and why):

    1  GET  products?filter[reference]=[REF]     look up by reference first: never duplicate, adopt instead
   (1) GET  languages                           once per client (cached), multilang fields need every language
    1  POST products                            everything in one write: fields in every language, categories,
                                                features association, manufacturer, state/visibility flags
    1  GET  stock_availables?filter[id_product]  the row's id_shop/out_of_stock (a PUT without id_shop hides it)
    1  PUT  stock_availables/{id}               quantity (both stock calls are skipped when quantity is 0:
                                                a new product's row already holds 0)
    N  POST images/products/{id}                one per image; the first becomes the cover by itself

    = 4 + N (2 + N with quantity 0), plus 1 for languages on a fresh client.

Later pushes compare content hashes kept in `state` and only write what changed: an unchanged spec makes
no call, a price change is one PATCH (plus a languages GET on a fresh client), a quantity change is one PUT
on the remembered stock row, an image change is one call per added/removed image (+ one PATCH when the
cover changes).

`state` (JSON-able, owned by this module; the caller stores it and passes it back):

    {
      "v": 1,
      "presta_id": 42,
      "languages": [1, 2],
      "stock": {"id": 7, "id_product": 42, "id_product_attribute": 0, "id_shop": 1, "id_shop_group": 0,
                "out_of_stock": 2, "location": ""},          # {"id": 7} until the row was read
      "hashes": {"core": "<sha256>", "features": "<sha256>", "quantity": 5},
      "images": [{"sha256": "<ERP sha256>", "id": 31}, …],   # shop image ids, spec order, first = cover
      "cover": 31,
      "images_refused": {"<ERP sha256>": "message"},        # not retried until the bytes change or force
      "images_dirty": false                                 # re-list the shop's images on the next push
    }

When a push raises, the exception carries `push_state` (the state as far as it got, or None) so the caller
may store it; without it the next push simply adopts the product by reference.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
from decimal import Decimal, InvalidOperation

from connectors.http import RemoteError, RemoteNotFound, RemoteRejected
from connectors.prestashop import mapping
from connectors.prestashop import xml as psxml
from connectors.prestashop.client import PrestaShopClient
from connectors.prestashop.images import ImageTooLarge, prepare_image
from connectors.prestashop.types import FeatureSpec, ImageError, ProductSpec, PushResult
from connectors.prestashop.xml import Assoc, Lang

logger = logging.getLogger("connectors.prestashop")

STATE_VERSION = 1


def _sha(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def _features_hash(feature_values: list[tuple[int, int]]) -> str:
    return _sha(json.dumps([[int(f), int(v)] for f, v in feature_values]))


def _dedupe_pairs(pairs):
    out = []
    for pair in pairs:
        pair = (int(pair[0]), int(pair[1]))
        if pair not in out:
            out.append(pair)
    return out


class _Restart(Exception):
    """The product is gone from the shop: forget the state and adopt/create again."""


class ShopSync:
    """Pushes products to one shop. Safe to share between threads (shared caches are locked)."""

    def __init__(
        self,
        client: PrestaShopClient,
        *,
        default_category_id: int = 2,
        image_max_bytes: int = 8 * 1024 * 1024,
        image_max_pixels: int = 1200,
    ) -> None:
        self.client = client
        self.default_category_id = int(default_category_id)
        self.image_max_bytes = image_max_bytes
        self.image_max_pixels = image_max_pixels
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._manufacturers: dict[str, int] = {}  # casefolded name → id
        self._features: dict[str, int] = {}  # casefolded name → id
        self._values: dict[str, int] = {}  # "<id_feature>|<value>" → id
        self._features_lock = threading.Lock()

    def _key_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    # ------------------------------------------------------------------ lookups
    def resolve_manufacturer(self, name: str, known_id: int | None = None) -> int:
        """The shop's manufacturer id for a brand: `known_id` (no call), found by name, or created once."""
        if known_id:
            return int(known_id)
        clean = mapping.manufacturer_name(name or "")
        if not clean:
            raise ValueError("manufacturer name is empty")
        key = clean.casefold()
        with self._key_lock("manufacturer:" + key):
            with self._lock:
                cached = self._manufacturers.get(key)
            if cached:
                return cached
            found = self.client.find_manufacturer(clean)
            if found is None:
                found = self.client.create_manufacturer(clean)
            with self._lock:
                self._manufacturers[key] = found
            return found

    def resolve_features(self, features: list[FeatureSpec], known: dict | None) -> tuple[list[tuple[int, int]], dict]:
        """(id_feature, id_feature_value) per feature, in `position` order, and the updated `known` cache.

        `known` = {"features": {name: id_feature}, "values": {"<id_feature>|<value>": id_feature_value}}:
        JSON-able, persisted by the caller. Everything in it costs no call. The rest costs at most one
        listing of the shop's features, one listing of the wanted values of features that already existed,
        and one POST per feature or value the shop does not have (names compared case-insensitively,
        values exactly). Serialised per ShopSync, so threads never create one feature twice.
        """
        known = {
            "features": dict((known or {}).get("features") or {}),
            "values": dict((known or {}).get("values") or {}),
        }
        wanted: list[tuple[str, str]] = []
        for feature in sorted(features, key=lambda f: f.position):
            name = mapping.feature_name(feature.name)
            value = mapping.feature_value(feature.value)
            if name and value:
                wanted.append((name, value))

        with self._features_lock:
            # Feature ids: the caller's cache, then ours, then one listing, then create.
            missing = [n for n, _ in wanted if n not in known["features"] and n.casefold() not in self._features]
            if missing:
                self._features.update(self.client.all_features())
            created: set[int] = set()
            languages: list[int] | None = None
            for name, _ in wanted:
                if name in known["features"]:
                    continue
                fid = self._features.get(name.casefold())
                if fid is None:
                    languages = languages or self.client.languages()
                    fid = self.client.create_feature(name, languages)
                    self._features[name.casefold()] = fid
                    created.add(fid)
                known["features"][name] = int(fid)

            # Value ids: values of a feature created just now cannot exist yet; the others are listed once.
            todo = []
            for name, value in wanted:
                fid = int(known["features"][name])
                vkey = f"{fid}|{value}"
                if vkey in known["values"]:
                    continue
                if vkey in self._values:
                    known["values"][vkey] = self._values[vkey]
                elif (fid, value) not in todo:
                    todo.append((fid, value))
            lookup = [(fid, v) for fid, v in todo if fid not in created]
            found = self.client.find_feature_values(lookup) if lookup else {}
            for fid, value in todo:
                vid = found.get((fid, value))
                if vid is None:
                    languages = languages or self.client.languages()
                    vid = self.client.create_feature_value(fid, value, languages)
                self._values[f"{fid}|{value}"] = int(vid)
                known["values"][f"{fid}|{value}"] = int(vid)

        pairs: list[tuple[int, int]] = []
        for name, value in wanted:
            fid = int(known["features"][name])
            pair = (fid, int(known["values"][f"{fid}|{value}"]))
            if pair not in pairs:
                pairs.append(pair)
        return pairs, known

    # ------------------------------------------------------------------ push
    def push_product(
        self, spec: ProductSpec, state: dict | None, *, force: bool = False, verify: bool = False
    ) -> PushResult:
        """Create or update the shop product so it shows exactly `spec`. See the module docstring."""
        progress: dict = {"state": copy.deepcopy(state) if state else None}
        with self.client.counting() as counter:
            try:
                try:
                    result = self._push(spec, progress, force=force, verify=verify, restored=False)
                except _Restart:
                    progress["state"] = None
                    result = self._push(spec, progress, force=True, verify=False, restored=True)
            except RemoteError as exc:
                exc.push_state = progress.get("state")
                raise
        result.calls = counter[0]
        return result

    def _push(self, spec: ProductSpec, progress: dict, *, force: bool, verify: bool, restored: bool) -> PushResult:
        client = self.client
        st = progress["state"]
        adopted = False
        created = False
        full = force

        if not st or not st.get("presta_id"):
            ids = client.find_products_by_reference(spec.reference)
            if len(ids) > 1:
                logger.warning(
                    "prestashop: %d products with reference %r, adopting %d", len(ids), spec.reference, ids[0]
                )
            if ids:
                adopted, full = True, True
                st = self._new_state(ids[0], client.languages())
                st["images_dirty"] = True
            else:
                st = self._create(spec)
                created = True
            progress["state"] = st

        presta_id = int(st["presta_id"])
        warnings: list[str] = []
        try:
            if created:
                fields, warnings = self._fields(spec, st["languages"])
                need_core = need_features = False
                need_stock = spec.quantity != 0
                need_images = bool(spec.images)
                shop_cover = None
            else:
                languages = client.cached_languages() or st.get("languages") or client.languages()
                fields, warnings = self._fields(spec, languages)
                need_core = full or _sha(psxml.build("product", fields)) != st["hashes"].get("core")
                need_features = full or _features_hash(spec.feature_values) != st["hashes"].get("features")
                need_stock = full or spec.quantity != st["hashes"].get("quantity")
                need_images = full or st.get("images_dirty") or self._images_changed(spec, st)
                shop_cover = st.get("cover")
                if verify and not full:
                    shop = client.get_product(presta_id)  # 404 → RemoteNotFound → restart below
                    need_core = need_core or self._core_differs(shop, fields)
                    shop_pairs = {
                        (int(r.get("id", 0)), int(r.get("id_feature_value", 0)))
                        for r in shop.get("associations", {}).get("product_features", [])
                    }
                    need_features = need_features or shop_pairs != set(_dedupe_pairs(spec.feature_values))
                    shop_images = [int(r["id"]) for r in shop.get("associations", {}).get("images", []) if r.get("id")]
                    if set(shop_images) != {i["id"] for i in st.get("images", [])}:
                        st["images_dirty"], need_images = True, True  # images added or removed by hand
                    shop_cover = int(shop.get("id_default_image") or 0) or None
                    if st.get("images") and shop_cover != st["images"][0]["id"]:
                        need_images = True
                    row = client.product_stock(presta_id)
                    self._remember_stock(st, row)
                    need_stock = need_stock or int(row.get("quantity") or 0) != spec.quantity

                if need_core or need_features:
                    patch: dict = {}
                    if need_core:
                        languages = client.languages()
                        if languages != st.get("languages"):
                            st["languages"] = languages
                        fields, warnings = self._fields(spec, languages)
                        patch.update(fields)
                    if need_features:
                        patch["product_features"] = mapping.features_assoc(_dedupe_pairs(spec.feature_values))
                    client.patch_product(presta_id, patch)
                    if need_core:
                        st["hashes"]["core"] = _sha(psxml.build("product", fields))
                    if need_features:
                        st["hashes"]["features"] = _features_hash(spec.feature_values)

            if need_stock:
                self._write_stock(presta_id, st, spec.quantity)
            else:
                st["hashes"]["quantity"] = spec.quantity

            image_errors: list[ImageError] = []
            if need_images:
                self._sync_images(presta_id, spec, st, warnings, image_errors, force=full, shop_cover=shop_cover)
            else:
                image_errors = self._refused_errors(spec, st)
        except RemoteNotFound:
            if created or restored:
                raise
            logger.warning("prestashop: product %s is gone from the shop, restoring %r", presta_id, spec.reference)
            raise _Restart() from None

        changed = created or adopted or bool(need_core or need_features or need_stock or need_images)
        return PushResult(
            presta_id=presta_id,
            state=copy.deepcopy(st),
            warnings=warnings,
            images_processed=len(st["images"]),
            features_processed=len(_dedupe_pairs(spec.feature_values)),
            image_errors=image_errors,
            changed=changed,
            adopted=adopted,
        )

    # ------------------------------------------------------------------ parts
    def _fields(self, spec: ProductSpec, languages: list[int]) -> tuple[dict, list[str]]:
        return mapping.core_fields(spec, languages=languages, default_category_id=self.default_category_id)

    @staticmethod
    def _new_state(presta_id: int, languages: list[int]) -> dict:
        return {
            "v": STATE_VERSION,
            "presta_id": int(presta_id),
            "languages": list(languages),
            "stock": None,
            "hashes": {"core": None, "features": None, "quantity": None},
            "images": [],
            "cover": None,
            "images_refused": {},
            "images_dirty": False,
        }

    def _create(self, spec: ProductSpec) -> dict:
        """One POST with every field and association; the answer names the product's stock row."""
        languages = self.client.languages()
        fields, _ = self._fields(spec, languages)
        core_hash = _sha(psxml.build("product", fields))
        pairs = _dedupe_pairs(spec.feature_values)
        if pairs:
            fields["product_features"] = mapping.features_assoc(pairs)
        row = self.client.create_product(fields)
        st = self._new_state(int(row["id"]), languages)
        st["hashes"].update(core=core_hash, features=_features_hash(spec.feature_values), quantity=0)
        for stock in row.get("associations", {}).get("stock_availables", []):
            if str(stock.get("id_product_attribute", "0")) == "0" and stock.get("id"):
                st["stock"] = {"id": int(stock["id"])}
        return st

    @staticmethod
    def _remember_stock(st: dict, row: dict) -> None:
        st["stock"] = {
            "id": int(row["id"]),
            "id_product": int(row.get("id_product") or st["presta_id"]),
            "id_product_attribute": int(row.get("id_product_attribute") or 0),
            "id_shop": int(row.get("id_shop") or 0),
            "id_shop_group": int(row.get("id_shop_group") or 0),
            "out_of_stock": int(row.get("out_of_stock") or 0),
            "location": row.get("location") or "",
        }

    def _write_stock(self, presta_id: int, st: dict, quantity: int) -> None:
        """PUT the quantity on the product's stock row (read once, then remembered in the state)."""
        if not st.get("stock") or "id_shop" not in st["stock"]:
            self._remember_stock(st, self.client.product_stock(presta_id))
        self.client.set_stock(st["stock"], quantity)
        st["hashes"]["quantity"] = quantity

    @staticmethod
    def _wanted_images(spec: ProductSpec) -> list[tuple[int, object]]:
        seen: set[str] = set()
        out = []
        for index, image in enumerate(spec.images):
            if image.sha256 not in seen:
                seen.add(image.sha256)
                out.append((index, image))
        return out

    def _images_changed(self, spec: ProductSpec, st: dict) -> bool:
        refused = st.get("images_refused") or {}
        wanted = [img.sha256 for _, img in self._wanted_images(spec) if img.sha256 not in refused]
        tracked = st.get("images") or []
        if wanted != [t["sha256"] for t in tracked]:
            return True
        if set(refused) - {img.sha256 for img in spec.images}:
            return True  # forget refusals of images no longer wanted
        return bool(tracked) and st.get("cover") != tracked[0]["id"]

    def _refused_errors(self, spec: ProductSpec, st: dict) -> list[ImageError]:
        refused = st.get("images_refused") or {}
        return [
            ImageError(index=i, file_name=img.file_name, message=refused[img.sha256])
            for i, img in self._wanted_images(spec)
            if img.sha256 in refused
        ]

    def _sync_images(
        self,
        presta_id: int,
        spec: ProductSpec,
        st: dict,
        warnings: list[str],
        image_errors: list[ImageError],
        *,
        force: bool,
        shop_cover: int | None,
    ) -> None:
        """Delete removed images, upload new ones in order (never re-upload unchanged bytes), fix the cover.

        One refused image lands in `image_errors`; the product push still succeeds.
        """
        client = self.client
        tracked: list[dict] = list(st.get("images") or [])
        cover = shop_cover
        cover_known = True
        if st.get("images_dirty"):
            shop_ids = client.product_images(presta_id)
            tracked = [t for t in tracked if t["id"] in shop_ids]
            keep = {t["id"] for t in tracked}
            for image_id in shop_ids:
                if image_id not in keep:
                    client.delete_image(presta_id, image_id)
            if not tracked:
                cover = None  # no image left: the next upload becomes the cover
            elif cover not in keep:
                cover_known = False
        refused = {} if force else dict(st.get("images_refused") or {})
        wanted = self._wanted_images(spec)
        wanted_shas = {img.sha256 for _, img in wanted}
        refused = {sha: msg for sha, msg in refused.items() if sha in wanted_shas}

        for t in [t for t in tracked if t["sha256"] not in wanted_shas]:
            client.delete_image(presta_id, t["id"])
            tracked.remove(t)
            if t["id"] == cover:
                cover = None  # the shop does not elect a new cover
        if not tracked:
            cover = None
        by_sha = {t["sha256"]: t["id"] for t in tracked}
        st["images"] = tracked  # progress so far (an exception keeps it consistent)
        st["cover"] = cover if cover_known else None

        result: list[dict] = []
        failed_upload = False
        for index, image in wanted:
            if image.sha256 in by_sha:
                result.append({"sha256": image.sha256, "id": by_sha[image.sha256]})
                continue
            if image.sha256 in refused:
                image_errors.append(ImageError(index=index, file_name=image.file_name, message=refused[image.sha256]))
                continue
            try:
                prepared = prepare_image(
                    image.content, image.file_name, max_bytes=self.image_max_bytes, max_pixels=self.image_max_pixels
                )
            except ImageTooLarge as exc:
                refused[image.sha256] = str(exc)
                image_errors.append(ImageError(index=index, file_name=image.file_name, message=str(exc)))
                continue
            try:
                row = client.upload_image(presta_id, prepared.content, prepared.file_name, prepared.content_type)
            except RemoteError as exc:
                failed_upload = True
                if isinstance(exc, RemoteRejected):
                    refused[image.sha256] = exc.message
                image_errors.append(
                    ImageError(index=index, file_name=image.file_name, message=exc.message, retryable=exc.retryable)
                )
                continue
            if prepared.note:
                warnings.append(prepared.note)
            image_id = int(row["id"])
            # The shop makes an upload the cover when the product has none; its answer says so too.
            is_cover = str(row["cover"]) == "1" if "cover" in row else (cover is None and cover_known)
            if is_cover:
                cover, cover_known = image_id, True
            result.append({"sha256": image.sha256, "id": image_id})

        st["images"] = result
        st["images_refused"] = refused
        st["images_dirty"] = False
        if failed_upload:
            # The shop creates the image row before it validates the bytes: remove what a refusal left.
            try:
                keep = {r["id"] for r in result}
                for image_id in client.product_images(presta_id):
                    if image_id not in keep:
                        client.delete_image(presta_id, image_id)
            except RemoteError as exc:
                logger.warning("prestashop: could not clean up images of product %s: %s", presta_id, exc)
                st["images_dirty"] = True
        desired = result[0]["id"] if result else None
        if desired is not None and (desired != cover or not cover_known):
            client.patch_product(presta_id, {"id_default_image": desired})
            cover = desired
        st["cover"] = cover if result else None

    @staticmethod
    def _core_differs(shop: dict, fields: dict) -> bool:
        """True when the shop's copy (a GET body) differs from the fields we would send."""
        return bool(ShopSync._core_differences(shop, fields))

    @staticmethod
    def _core_differences(shop: dict, fields: dict) -> list[str]:
        """Names of the fields whose shop value (a GET body) differs from what we would send."""
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

    # ------------------------------------------------------------------ dry run
    def diff_product(self, spec: ProductSpec, state: dict | None) -> list[str]:
        """What `push_product(spec, state, verify=True)` would change, read from the shop without writing."""
        client = self.client
        if not state or not state.get("presta_id"):
            ids = client.find_products_by_reference(spec.reference)
            if ids:
                return [f"existing shop product {ids[0]} would be adopted and overwritten"]
            return ["product would be created in the shop"]
        presta_id = int(state["presta_id"])
        try:
            shop = client.get_product(presta_id)
        except RemoteNotFound:
            return [f"shop product {presta_id} is missing and would be recreated"]
        languages = client.cached_languages() or state.get("languages") or client.languages()
        fields, _ = self._fields(spec, languages)
        changes = [f"{name} differs" for name in self._core_differences(shop, fields)]
        shop_pairs = {
            (int(r.get("id", 0)), int(r.get("id_feature_value", 0)))
            for r in shop.get("associations", {}).get("product_features", [])
        }
        if shop_pairs != set(_dedupe_pairs(spec.feature_values)):
            changes.append("features differ")
        row = client.product_stock(presta_id)
        if int(row.get("quantity") or 0) != spec.quantity:
            changes.append(f"quantity {row.get('quantity')} → {spec.quantity}")
        shop_images = {int(r["id"]) for r in shop.get("associations", {}).get("images", []) if r.get("id")}
        if shop_images != {i["id"] for i in state.get("images", [])} or self._images_changed(spec, state):
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
