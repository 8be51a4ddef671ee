"""The shop ids of manufacturers, features and feature values, remembered in the database for every process.

Manufacturer ids sit on `Brand.presta_manufacturer_id`; feature and value ids in `ShopFeature` /
`ShopFeatureValue`. `dependencies_resolve()` gives the ids a set of products needs: what is remembered costs
no call; the rest is found or created in the shop in one go (`connectors.prestashop.resolve`) under one
cross-process lock, so two workers never create the same thing twice, and remembered. A batch calls it once
for all its products, before any product is pushed, so no product waits on a lock during its own calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings

from catalog.models import Brand, Product, ShopFeature, ShopFeatureValue
from connectors.prestashop.resolve import ResolveFailed, ShopIds, ValueKey, manufacturer_key, resolve
from connectors.prestashop.types import FeatureSpec
from syncjobs.locks import SHOP_DEPENDENCIES_LOCK, named_locks

from .shop import get_shop


def shop_ids_load(*, brands: Iterable[Brand] = (), features: bool = True) -> ShopIds:
    """What the database remembers: the given brands' manufacturer ids and (if `features`) every feature
    and value id (two queries)."""
    ids = ShopIds()
    for brand in brands:
        if brand.presta_manufacturer_id and manufacturer_key(brand.name):
            ids.manufacturers[manufacturer_key(brand.name)] = int(brand.presta_manufacturer_id)
    if features:
        ids.features = {name: int(pid) for name, pid in ShopFeature.objects.values_list("name", "presta_id")}
        ids.values = {
            ValueKey(int(fid), value): int(vid)
            for fid, value, vid in ShopFeatureValue.objects.values_list("feature__presta_id", "value", "presta_id")
        }
    return ids


def shop_ids_save(*, new: ShopIds, brands: Iterable[Brand]) -> None:
    """Remember newly resolved ids: manufacturers on the brands whose name they belong to, features/values."""
    for brand in brands:
        mid = new.manufacturers.get(manufacturer_key(brand.name))
        if mid is not None and brand.presta_manufacturer_id != mid:
            brand.presta_manufacturer_id = mid
            brand.save(update_fields=["presta_manufacturer_id", "updated_at"])
    by_presta: dict[int, ShopFeature] = {}
    for name, presta_id in new.features.items():
        feature, _ = ShopFeature.objects.get_or_create(name=name, defaults={"presta_id": presta_id})
        by_presta[presta_id] = feature
    for key, value_id in new.values.items():
        feature = by_presta.get(key.feature_id) or ShopFeature.objects.filter(presta_id=key.feature_id).first()
        if feature is not None:
            ShopFeatureValue.objects.get_or_create(feature=feature, value=key.value, defaults={"presta_id": value_id})


@dataclass
class Dependencies:
    """The shop ids a set of products needs, and the Webservice calls it took to get them."""

    ids: ShopIds
    features: dict[int, list[FeatureSpec]]  # product pk → its features
    calls: int = 0
    brands: dict[int, Brand] = field(default_factory=dict)

    def manufacturer_id(self, product: Product) -> int | None:
        if product.brand_id is None:
            return None
        brand = self.brands.get(product.brand_id) or product.brand
        return brand.presta_manufacturer_id or self.ids.manufacturer(brand.name)

    def feature_values(self, product: Product) -> list[tuple[int, int]]:
        return self.ids.pairs(self.features.get(product.pk, []))


def dependencies_resolve(*, products: list[Product], features: dict[int, list[FeatureSpec]]) -> Dependencies:
    """Manufacturer and feature value ids for `products` (brands selected), found or created once each."""
    brands = {p.brand_id: p.brand for p in products if p.brand_id is not None}
    wanted_features = [f for fs in features.values() for f in fs]
    ids = shop_ids_load(brands=brands.values(), features=bool(wanted_features))
    deps = Dependencies(ids=ids, features=features, brands=brands)
    names = [b.name for b in brands.values() if not b.presta_manufacturer_id]
    if not ids.missing(manufacturers=names, features=wanted_features):
        return deps
    shop = get_shop()
    calls_before = shop.client.calls  # the pool's threads call too: count on the client, not this thread
    with named_locks([SHOP_DEPENDENCIES_LOCK]):
        # Another worker may have resolved some of them while we waited for the lock.
        fresh = {b.pk: b for b in Brand.objects.filter(pk__in=list(brands))}
        deps.brands = fresh
        ids = shop_ids_load(brands=fresh.values(), features=bool(wanted_features))
        names = [b.name for b in fresh.values() if not b.presta_manufacturer_id]
        languages = shop.facts.languages() if ids.missing(features=wanted_features) else None
        workers = max(1, min(settings.PRESTASHOP_WRITE_CONCURRENCY, len(names) + len(wanted_features)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="shop-resolve") as pool:
            try:
                new = resolve(
                    shop.client, ids, manufacturers=names, features=wanted_features, languages=languages, pool=pool
                )
            except ResolveFailed as failed:
                shop_ids_save(new=failed.resolved, brands=fresh.values())  # they exist in the shop now
                raise failed.error from None
        shop_ids_save(new=new, brands=fresh.values())
        ids.update(new)
        deps.ids = ids
    deps.calls = shop.client.calls - calls_before
    return deps
